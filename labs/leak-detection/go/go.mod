module gort/labs/leakdetection

go 1.19
