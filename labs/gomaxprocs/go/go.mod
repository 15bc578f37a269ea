module gort/labs/gomaxprocs

go 1.19
