package rtmpclient

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// A peer that asks for acknowledgements every 1000 bytes gets them, with the
// byte count so far as the sequence number.
func TestAcknowledgementSentWhenWindowCrossed(t *testing.T) {
	cn, sn := tcpPair(t)
	client, server := newTransport(cn, defaultReadLimits), newTransport(sn, defaultReadLimits)
	if err := server.sendWindowAckSize(1000); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 10; i++ {
			_ = server.send(csidVideo, &Message{Type: TypeVideo, StreamID: 1, Timestamp: uint32(i), Payload: make([]byte, 300)})
		}
	}()
	for i := 0; i < 10; i++ {
		if _, err := client.readMessage(); err != nil {
			t.Fatal(err)
		}
	}
	_ = sn.SetReadDeadline(time.Now().Add(2 * time.Second))
	m, err := server.cr.readMessage()
	if err != nil || m.Type != TypeAck {
		t.Fatalf("got %v, %v; want an Acknowledgement", m, err)
	}
	if seq := binary.BigEndian.Uint32(m.Payload); seq < 1000 || uint64(seq) > client.bytesIn.Load() {
		t.Fatalf("ack sequence %d, client had read %d", seq, client.bytesIn.Load())
	}
}

func TestUnwrapAckSequenceAcrossFourGiB(t *testing.T) {
	if got := unwrap32(5<<30, uint32(((5<<30)-100)&0xffffffff)); got != (5<<30)-100 {
		t.Errorf("got %d", got)
	}
	if got := unwrap32(1<<32+10, 0xfffffff0); got != 0xfffffff0 {
		t.Errorf("just before the wrap: got %d", got)
	}
}

// nginx acknowledges at the window Tally asks for and answers pings, which give
// the stats their acked bytes and round-trip time.
func TestNginxAcksAndPingsFeedStats(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{})
	ep, _ := ParseURL(ng.URL(), testKey)
	p := NewPublisher(PublisherConfig{Endpoint: ep})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for _, pk := range synthStream(4, 60, false, 25_000) { // 6 Mb/s for 4 s: past the 2.5 MB window
		if err := p.WriteWait(ctx, pk); err != nil {
			t.Fatal(err)
		}
	}
	waitStable(t, func() bool { st := p.Stats(); return st.AcksReceived > 0 && st.RTT > 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
