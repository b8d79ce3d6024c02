// httpd: the workload of sysfault's benchmark. A small net/http "item store" on loopback: every GET /item
// reads a 4 KiB JSON document from disk (os.ReadFile: openat + read + close) and sends it, so a request's
// path has file reads and socket reads and writes. A failed file read answers 500.
//
// Usage: httpd ADDR[,ADDR...] DATADIR   (ADDR like 127.0.0.1:8080; the process prints "listening ADDR" for
// each address once it listens there, and serves the same routes on all of them)
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: httpd ADDR[,ADDR...] DATADIR")
		os.Exit(2)
	}
	addrs, dir := strings.Split(os.Args[1], ","), os.Args[2]
	for _, addr := range addrs {
		if !strings.HasPrefix(addr, "127.") && !strings.HasPrefix(addr, "[::1]") && !strings.HasPrefix(addr, "localhost:") {
			fmt.Fprintln(os.Stderr, "httpd: loopback addresses only")
			os.Exit(2)
		}
	}
	item := filepath.Join(dir, "item.json")
	doc := `{"id":1,"name":"sysfault","payload":"` + strings.Repeat("x", 4000) + `"}`
	if err := os.WriteFile(item, []byte(doc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "httpd:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /item", func(w http.ResponseWriter, r *http.Request) {
		body, err := os.ReadFile(item)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	failed := make(chan error)
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "httpd:", err)
			os.Exit(1)
		}
		fmt.Printf("listening %s\n", ln.Addr())
		go func() { failed <- http.Serve(ln, mux) }()
	}
	fmt.Fprintln(os.Stderr, "httpd:", <-failed)
	os.Exit(1)
}
