//go:build !unix || darwin || android || ios

package main

// findDisplay has nothing to check on Windows and macOS: there the window
// system is part of the OS, not a server the environment names.
func findDisplay() error { return nil }
