// net: a TCP echo server and a client in one process; the client sends SIZE bytes (default 65536),
// reads them back and checks them. Go sockets are non-blocking (EAGAIN + netpoller), so shortened and
// delayed transfers must keep the poller working.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
)

func main() {
	size := 65536
	if len(os.Args) > 1 {
		size, _ = strconv.Atoi(os.Args[1])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(2)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(2)
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, data) {
		fmt.Printf("net: MISMATCH (%d bytes, err %v)\n", len(got), err)
		os.Exit(1)
	}
	fmt.Printf("net: %d bytes echoed intact\n", len(got))
}
