// A Go program for snapshot and restore: four goroutines sum what a channel carries, under a
// mutex, while a ticker counts; each input line sends 1000 numbers and answers the running
// total and whether the ticker ticked. Goroutines, the runtime's threads, its timers and its
// signals (SIGURG preemption) go on after a restore.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"time"
)

func main() {
	var mu sync.Mutex
	total := 0
	ch := make(chan int)
	for w := 0; w < 4; w++ {
		go func(w int) {
			for v := range ch {
				mu.Lock()
				total += v * (w + 1) / (w + 1)
				mu.Unlock()
			}
		}(w)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	ticks := 0
	go func() {
		for range tick.C {
			mu.Lock()
			ticks++
			mu.Unlock()
		}
	}()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	n := 0
	for in.Scan() {
		n++
		for i := 0; i < 1000; i++ {
			ch <- i
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		fmt.Println(n, total, ticks > 0)
		ticks = 0
		mu.Unlock()
	}
}
