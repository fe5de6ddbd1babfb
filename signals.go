package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// onInterrupt makes the first SIGINT or SIGTERM call stop (a clean stop) and a
// second one exit at once with status exitSignal. The returned release undoes
// it and waits for the watcher to return: commands run in-process by tests
// must leave no goroutine behind (signal.Stop alone never ends a receiver).
func onInterrupt(stderr io.Writer, name string, stop func()) (release func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sigs:
		case <-done:
			return
		}
		fmt.Fprintf(stderr, "%s: stopping (press Ctrl-C again to quit at once)\n", name)
		stop()
		select {
		case <-sigs:
			fmt.Fprintf(stderr, "%s: forced exit\n", name)
			os.Exit(exitSignal)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
	}
}
