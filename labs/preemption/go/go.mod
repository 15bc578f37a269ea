module gort/labs/preemption

go 1.19
