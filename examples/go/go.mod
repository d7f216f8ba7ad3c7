module reference-policy

go 1.25
