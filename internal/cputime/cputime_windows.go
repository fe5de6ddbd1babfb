package cputime

import (
	"time"

	"golang.org/x/sys/windows"
)

// Process is the user and kernel CPU time this process has used so far, or 0
// if the system will not say.
func Process() time.Duration {
	var creation, exit, kernel, user windows.Filetime
	if windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user) != nil {
		return 0
	}
	return ticks(kernel) + ticks(user)
}

// ticks reads a FILETIME that holds a duration. Filetime.Nanoseconds would
// treat it as a date and subtract the 1601-to-1970 offset.
func ticks(ft windows.Filetime) time.Duration {
	return time.Duration(int64(ft.HighDateTime)<<32|int64(ft.LowDateTime)) * 100
}
