module gort/labs/timeline

go 1.19
