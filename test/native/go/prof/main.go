// prof: N fsyncs while a CPU profile (SIGPROF at 100 Hz to running threads) and busy goroutines
// (preempted with SIGURG) run: every signal interrupts a notified syscall that is being held. With a third
// argument "storm", another goroutine also sends SIGURG to the fsyncing thread every 500us.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	n := 50
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	prof, _ := os.Create(os.Args[1] + ".prof")
	pprof.StartCPUProfile(prof)
	var stop atomic.Bool
	for i := 0; i < 4; i++ {
		go func() {
			x := 0
			for !stop.Load() {
				x++
			}
		}()
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Println("create:", err)
		os.Exit(2)
	}
	runtime.LockOSThread()
	if len(os.Args) > 3 && os.Args[3] == "storm" {
		tid := syscall.Gettid()
		go func() {
			for !stop.Load() {
				syscall.Tgkill(os.Getpid(), tid, syscall.SIGURG)
				time.Sleep(500 * time.Microsecond)
			}
		}()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		f.Write([]byte("x"))
		if err := f.Sync(); err != nil {
			fmt.Println("fsync:", err)
		}
	}
	stop.Store(true)
	pprof.StopCPUProfile()
	fmt.Printf("prof: %d fsyncs in %v\n", n, time.Since(start).Round(time.Millisecond))
}
