// Package peers starts the real programs Tally's tests talk to (Xvfb, nginx with the
// RTMP module, FFmpeg's command line, a PulseAudio server) on loopback with free
// ports or private sockets, and stops them when the test ends. Tests use real peers so that Tally is proven against other
// implementations, not only against itself.
package peers
