// fsync: writes "hello\n" and fsyncs N times (default 5), printing what each call returned.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	n := 5
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Println("create:", err)
		os.Exit(2)
	}
	failed := 0
	for i := 0; i < n; i++ {
		w, werr := f.Write([]byte("hello\n"))
		serr := f.Sync()
		fmt.Printf("iter %d: write %d %v, fsync %v\n", i, w, werr, serr)
		if serr != nil {
			failed++
		}
	}
	f.Close()
	fmt.Printf("done: %d fsync failures\n", failed)
}
