//go:build !wayland

package main

// waylandBuild: without -tags wayland, Fyne's GLFW on Linux and the BSDs is
// an X11 client.
const waylandBuild = false
