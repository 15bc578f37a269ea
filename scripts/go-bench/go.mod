module gort/gobench

go 1.19
