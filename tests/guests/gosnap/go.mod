module gosnap
go 1.19
