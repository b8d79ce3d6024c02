module sysfault.bench/httpd

go 1.22
