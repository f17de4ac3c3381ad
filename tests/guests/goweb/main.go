// A small HTTP server with many goroutines, for picobox's tests.
package main

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "compute" {
		var wg sync.WaitGroup
		var total int64
		for g := 0; g < 1000; g++ {
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				s := 0
				for i := 0; i < 10000; i++ {
					s += (i * n) % 7
				}
				atomic.AddInt64(&total, int64(s))
			}(g)
		}
		wg.Wait()
		ch := make(chan int)
		go func() { ch <- 42 }()
		fmt.Println("total", total, "chan", <-ch)
		return
	}
	var hits int64
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n := atomic.AddInt64(&hits, 1)
		fmt.Fprintf(w, "hello from go, request %d, path %s\n", n, r.URL.Path)
	})
	addr := os.Args[1]
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
