// Package rtmpclient is RTMP and RTMPS in pure Go: the client that publishes
// Tally's stream to each destination, a player, and the small server behind
// `tally ingest`.
//
// Where each concept lives:
//
//   - handshake.go: the C0-C2/S0-S2 handshake, plain and with digests.
//   - rtmpe.go: RTMPE (obfuscation, not security): the Diffie–Hellman handshake,
//     RC4 on both directions, and the server's choice of RTMP or RTMPE by C0.
//   - chunk.go: chunking, the chunk stream reader and writer and their limits.
//   - message.go: message types and protocol control messages.
//   - amf/ (package amf): AMF0 and AMF3, the encodings commands and metadata
//     are written in. It depends on nothing else, and callers import it directly.
//   - command.go: commands, onStatus and the StatusError a refusal becomes.
//   - transport.go: one connection after the handshake: write deadlines,
//     acknowledgements, pings, byte counts.
//   - conn.go: ClientConn, dialling (TCP or TLS) and the connect sequence.
//   - caps.go: Enhanced RTMP codec negotiation: what connect advertises, the
//     ServerCaps a server states in its answer, Negotiate, and what the Server
//     states to clients that advertise.
//   - url.go: parsing a server URL and stream key; StreamKey masks itself.
//   - publish.go: the Publisher's connect, send and stop, and its stats.
//   - queue.go: the queue in front of each connection and its drop policy.
//   - reconnect.go: the reconnect policy and Publisher.Run: backoff, what is
//     retried, when a connection counts as established, hang-ups.
//   - fanout.go: the Interleaver (decode order across tracks) and Fanout (one
//     stream to many Publishers).
//   - play.go: playing a stream, with pause, seek and the player's commands.
//   - server.go: the Server that tally ingest and the tests publish to, over
//     TCP or a TLS listener (RTMPS), and the player commands it answers.
//   - recording.go: a recorded FLV's index (keyframes, headers) for players.
//   - vod_player.go: playing a recording to one player in real time, with
//     seek, pause and play2.
//   - player_filter.go: what a player asked not to receive (receiveAudio,
//     receiveVideo, a paused live stream), and the wait for a keyframe.
//   - rtmpt.go, rtmpt_client.go, rtmpt_server.go: RTMPT, RTMP tunnelled in
//     HTTP(S) requests: the tunnel as a net.Conn, the client's polling pump,
//     and the http.Handler whose sessions the Server serves.
//   - sockopt_*.go: socket options per operating system.
package rtmpclient
