//go:build wayland

package main

// waylandBuild: built with -tags wayland, Fyne's GLFW talks to a Wayland
// compositor and not to X11.
const waylandBuild = true
