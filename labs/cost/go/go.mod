module gort/labs/cost

go 1.19
