module warrant

go 1.25
