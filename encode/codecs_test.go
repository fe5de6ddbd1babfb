package encode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tallystudio/tally/flv"
)

// streamEncoders are the software encoders Tally streams with, one a codec.
var streamEncoders = []struct{ encoder, codec string }{
	{"libx264", "h264"}, {"libx265", "hevc"}, {"libsvtav1", "av1"},
}

// encodeFrames encodes frames test images at 30 fps, forcing a keyframe at
// frame force (none when negative), and returns the packets in output order.
func encodeFrames(t *testing.T, cfg VideoConfig, frames, force int) []Packet {
	t.Helper()
	e, err := NewVideoEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var pkts []Packet
	emit := func(p Packet) { pkts = append(pkts, p) }
	for n := range frames {
		if err := e.Encode(testImage(cfg.Width, cfg.Height, n), int64(n), n == force, time.Time{}, emit); err != nil {
			t.Fatalf("%s frame %d: %v", cfg.Encoder, n, err)
		}
	}
	if err := e.Flush(emit); err != nil {
		t.Fatal(err)
	}
	return pkts
}

// keyframeNumbers are the frame numbers (at 30 fps) of the keyframes.
func keyframeNumbers(pkts []Packet) []int {
	var keys []int
	for _, p := range pkts {
		if p.Keyframe {
			keys = append(keys, int((p.PTS+time.Millisecond)*30/time.Second))
		}
	}
	return keys
}

// Each codec puts keyframes exactly every GOP and on a forced frame (where
// the cadence starts again), whatever the rendition's size and rate, so that
// renditions of the same frames cut on the same frame numbers; every
// keyframe starts a closed GOP.
func TestEveryCodecKeyframesEveryGOPAndWhenForced(t *testing.T) {
	want := []int{0, 30, 45, 75}
	for _, tc := range streamEncoders {
		for _, size := range [][3]int{{320, 180, 300_000}, {640, 360, 900_000}} {
			cfg := VideoConfig{Encoder: tc.encoder, Width: size[0], Height: size[1], FPS: 30, Bitrate: size[2],
				KeyframeInterval: time.Second, Preset: "ultrafast", Tune: "zerolatency"}
			pkts := encodeFrames(t, cfg, 90, 45)
			if len(pkts) != 90 {
				t.Fatalf("%s %dx%d: %d packets for 90 frames", tc.encoder, size[0], size[1], len(pkts))
			}
			if got := keyframeNumbers(pkts); !slices.Equal(got, want) {
				t.Errorf("%s %dx%d: keyframes at frames %v, want %v", tc.encoder, size[0], size[1], got, want)
			}
			for i, p := range pkts {
				if i > 0 && p.DTS <= pkts[i-1].DTS || p.DTS > p.PTS {
					t.Fatalf("%s: packet %d has DTS %v after %v, PTS %v", tc.encoder, i, p.DTS, pkts[i-1].DTS, p.PTS)
				}
				if err := closedGOPKeyframe(tc.codec, p); err != nil {
					t.Errorf("%s %dx%d: packet %d (PTS %v): %v", tc.encoder, size[0], size[1], i, p.PTS, err)
				}
			}
		}
	}
}

// A keyframe forced on a frame where the cadence puts one anyway (as the
// session forces each aligned keyframe) changes nothing: the same keyframes
// come out, and SVT-AV1, which forces keyframes by starting afresh, does not
// restart for it; a keyframe off the cadence does restart it, once.
func TestForcingAKeyframeTheCadenceMakesAnywayCostsNothing(t *testing.T) {
	for _, tc := range streamEncoders {
		cfg := VideoConfig{Encoder: tc.encoder, Width: 320, Height: 180, FPS: 30, Bitrate: 300_000,
			KeyframeInterval: time.Second, Preset: "ultrafast", Tune: "zerolatency"}
		e, err := NewVideoEncoder(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var pkts []Packet
		emit := func(p Packet) { pkts = append(pkts, p) }
		for n := range 100 {
			force := n == 0 || n == 30 || n == 60 || n == 75
			if err := e.Encode(testImage(cfg.Width, cfg.Height, n), int64(n), force, time.Time{}, emit); err != nil {
				t.Fatalf("%s frame %d: %v", tc.encoder, n, err)
			}
		}
		if err := e.Flush(emit); err != nil {
			t.Fatal(err)
		}
		restarts := e.restarts
		e.Close()
		if got, want := keyframeNumbers(pkts), []int{0, 30, 60, 75}; !slices.Equal(got, want) {
			t.Errorf("%s: keyframes at frames %v, want %v", tc.encoder, got, want)
		}
		want := 0
		if e.quirks.restartForKey {
			want = 1 // for the one off the cadence
		}
		if restarts != want {
			t.Errorf("%s restarted %d times for keyframes; want %d", tc.encoder, restarts, want)
		}
	}
}

// An encoder whose caller forces its keyframes keeps its own cadence only as
// a bound, at twice the interval, out of the caller's way; SVT-AV1 keeps it
// at the interval, where the caller's keyframes fall and cost no restart.
func TestCallerKeyframesLeaveTheEncodersCadenceABound(t *testing.T) {
	for _, tc := range streamEncoders {
		cfg := VideoConfig{Encoder: tc.encoder, Width: 320, Height: 180, FPS: 30, Bitrate: 300_000,
			KeyframeInterval: time.Second, Preset: "ultrafast", Tune: "zerolatency", CallerKeyframes: true}
		want := []int{0, 60}
		if tc.encoder == "libsvtav1" {
			want = []int{0, 30, 60}
		}
		if got := keyframeNumbers(encodeFrames(t, cfg, 90, -1)); !slices.Equal(got, want) {
			t.Errorf("%s: keyframes at frames %v, want %v", tc.encoder, got, want)
		}
	}
}

// closedGOPKeyframe checks that a packet flagged key holds a picture that
// needs no earlier one (an IDR, an AV1 key frame) and that no other does:
// a CRA or an open GOP's I-frame would be a keyframe that renditions and
// reconnects cannot cut at.
func closedGOPKeyframe(codec string, p Packet) error {
	var key bool
	switch codec {
	case "h264":
		flv.SplitAnnexB(p.Data, func(nal []byte) { key = key || nal[0]&0x1f == flv.NALIDR })
	case "hevc":
		var err error
		if err := flv.WalkAVCC(flv.AppendLengthPrefixed(nil, p.Data), 4, func([]byte) {}); err != nil {
			return fmt.Errorf("as FLV carries it: %w", err)
		}
		flv.SplitAnnexB(p.Data, func(nal []byte) {
			switch typ := nal[0] >> 1 & 0x3f; {
			case typ == 19 || typ == 20: // IDR_W_RADL, IDR_N_LP
				key = true
			case typ >= 16 && typ <= 23: // BLA, CRA: open GOPs
				err = fmt.Errorf("HEVC NAL type %d: an open-GOP random access point", typ)
			}
		})
		if err != nil {
			return err
		}
	case "av1":
		// As FLV carries it: without the temporal delimiter it starts with.
		tu, err := flv.AppendAV1TemporalUnit(nil, p.Data)
		if err != nil {
			return err
		}
		if len(tu) != len(p.Data)-2 || !bytes.Equal(tu, p.Data[2:]) {
			return fmt.Errorf("temporal unit % x became % x, want it less its delimiter", p.Data[:min(8, len(p.Data))], tu[:min(8, len(tu))])
		}
		if key, err = av1KeyFrame(tu); err != nil {
			return err
		}
	}
	if key != p.Keyframe {
		return fmt.Errorf("flagged keyframe %v, the bitstream says %v", p.Keyframe, key)
	}
	return nil
}

// av1KeyFrame reads whether a temporal unit's first frame (header) OBU is a
// shown key frame: show_existing_frame 0, frame_type KEY_FRAME (0), as the
// uncompressed header starts when the sequence is not a reduced still picture.
func av1KeyFrame(tu []byte) (bool, error) {
	for len(tu) > 0 {
		typ := tu[0] >> 3 & 0x0f
		hdr := 1
		if tu[0]&0x04 != 0 { // extension header
			hdr++
		}
		if tu[0]&0x02 == 0 || hdr >= len(tu) {
			return false, errors.New("AV1 OBU without a size field")
		}
		size, n := binary.Uvarint(tu[hdr:])
		if n <= 0 || uint64(len(tu)-hdr-n) < size {
			return false, errors.New("AV1 OBU size runs past the temporal unit")
		}
		payload := tu[hdr+n : hdr+n+int(size)]
		if (typ == 3 || typ == 6) && len(payload) > 0 { // OBU_FRAME_HEADER, OBU_FRAME
			return payload[0]&0xe0 == 0, nil
		}
		tu = tu[hdr+n+int(size):]
	}
	return false, errors.New("AV1 temporal unit without a frame")
}

// The configuration record is what each codec's FLV sequence header carries,
// built by libavformat from the encoder's own headers: for H.264 byte for
// byte what flv.AVCDecoderConfigurationRecord builds from them.
func TestConfigRecordIsWhatTheSequenceHeaderCarries(t *testing.T) {
	for _, tc := range streamEncoders {
		e, err := NewVideoEncoder(VideoConfig{Encoder: tc.encoder, Width: 320, Height: 180, FPS: 30, Bitrate: 500_000,
			KeyframeInterval: time.Second, Preset: "veryfast", Tune: "zerolatency"})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if e.Codec() != tc.codec {
			t.Errorf("%s: Codec() = %q, want %q", tc.encoder, e.Codec(), tc.codec)
		}
		rec, err := e.ConfigRecord()
		if err != nil {
			t.Fatalf("%s: %v", tc.encoder, err)
		}
		rec[0] ^= 0xff // the caller's copy
		if again, _ := e.ConfigRecord(); again[0] == rec[0] {
			t.Errorf("%s: ConfigRecord hands out its own bytes", tc.encoder)
		}
		rec[0] ^= 0xff
		switch tc.codec {
		case "h264":
			err = checkAVCRecord(rec, e.Extradata())
		case "hevc":
			err = checkHEVCRecord(rec, e.Extradata())
		case "av1":
			err = checkAV1Record(rec, e.Extradata())
		}
		if err != nil {
			t.Errorf("%s: %v\nrecord % x\nextradata % x", tc.encoder, err, rec, e.Extradata())
		}
	}
}

// checkAVCRecord compares an AVCDecoderConfigurationRecord with the one the
// app built from the encoder's extradata before ConfigRecord existed.
func checkAVCRecord(rec, extradata []byte) error {
	var sps, pps []byte
	flv.SplitAnnexB(extradata, func(n []byte) {
		switch n[0] & 0x1f {
		case flv.NALSPS:
			sps = n
		case flv.NALPPS:
			pps = n
		}
	})
	want, err := flv.AVCDecoderConfigurationRecord(sps, pps)
	if err != nil {
		return err
	}
	if !bytes.Equal(rec, want) {
		return fmt.Errorf("record differs from flv.AVCDecoderConfigurationRecord's % x", want)
	}
	return nil
}

// checkHEVCRecord reads an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15,
// 8.3.3.1): version 1, 4-byte NAL lengths, and arrays holding exactly the
// encoder's VPS, SPS and PPS.
func checkHEVCRecord(rec, extradata []byte) error {
	if len(rec) < 23 || rec[0] != 1 {
		return fmt.Errorf("hvcC of %d bytes, version %d", len(rec), rec[0])
	}
	if rec[21]&3 != 3 {
		return fmt.Errorf("lengthSizeMinusOne %d, want 3", rec[21]&3)
	}
	got := map[byte][]byte{}
	b, arrays := rec[23:], int(rec[22])
	for range arrays {
		if len(b) < 3 {
			return errors.New("hvcC array header truncated")
		}
		typ, n := b[0]&0x3f, int(binary.BigEndian.Uint16(b[1:]))
		b = b[3:]
		for range n {
			if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
				return errors.New("hvcC NAL unit truncated")
			}
			l := int(binary.BigEndian.Uint16(b))
			got[typ] = b[2 : 2+l]
			b = b[2+l:]
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%d bytes after the arrays", len(b))
	}
	want := map[byte][]byte{}
	flv.SplitAnnexB(extradata, func(n []byte) { want[n[0]>>1&0x3f] = n })
	for _, typ := range []byte{32, 33, 34} { // VPS, SPS, PPS
		if want[typ] == nil || !bytes.Equal(got[typ], want[typ]) {
			return fmt.Errorf("NAL type %d: hvcC holds % x, the encoder made % x", typ, got[typ], want[typ])
		}
	}
	return nil
}

// checkAV1Record reads an AV1CodecConfigurationRecord (AV1 in ISOBMFF, 2.3):
// marker and version 1 (0x81), then the sequence header OBU as configOBUs.
func checkAV1Record(rec, extradata []byte) error {
	if len(rec) < 5 || rec[0] != 0x81 {
		return fmt.Errorf("av1C of %d bytes starts %#x, want 0x81", len(rec), rec[0])
	}
	if rec[1]>>5 != 0 { // seq_profile: Main, for 4:2:0 8-bit
		return fmt.Errorf("seq_profile %d, want 0 (Main)", rec[1]>>5)
	}
	if !bytes.Equal(rec[4:], extradata) || extradata[0]>>3&0x0f != 1 {
		return fmt.Errorf("configOBUs % x are not the encoder's sequence header OBU", rec[4:])
	}
	return nil
}

// The H.264 record is flv.AVCDecoderConfigurationRecord's for every profile
// Tally offers, the extra chroma and bit depth fields of High included.
func TestConfigRecordOfEveryH264Profile(t *testing.T) {
	for _, profile := range []string{"baseline", "main", "high"} {
		e, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 180, FPS: 30, Bitrate: 500_000,
			KeyframeInterval: time.Second, Preset: "veryfast", Profile: profile})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := e.ConfigRecord()
		if err == nil {
			err = checkAVCRecord(rec, e.Extradata())
		}
		e.Close()
		if err != nil {
			t.Errorf("%s: %v", profile, err)
		}
	}
}

// HEVC and AV1 encoders open and encode here, and Usable lists them.
func TestProbeFindsHEVCAndAV1(t *testing.T) {
	for _, name := range []string{"libx265", "libsvtav1"} {
		if err := Probe(name); err != nil {
			t.Errorf("Probe(%s): %v", name, err)
		}
	}
	var got []string
	for _, e := range Usable("hevc", "av1") {
		got = append(got, e.Name)
	}
	for _, name := range []string{"libx265", "libsvtav1"} {
		if !slices.Contains(got, name) {
			t.Errorf("Usable(hevc, av1) = %v, lacks %s", got, name)
		}
	}
}

// x264's preset names work for every encoder (SVT-AV1 maps them onto its
// numbers and takes a number too); anything else is refused as a bad
// setting, not an encoder missing from the machine.
func TestPresetsByNameForEveryEncoder(t *testing.T) {
	for _, tc := range streamEncoders {
		for _, preset := range []string{"ultrafast", "veryfast"} {
			e, err := NewVideoEncoder(VideoConfig{Encoder: tc.encoder, Width: 320, Height: 180, FPS: 30,
				Bitrate: 500_000, KeyframeInterval: time.Second, Preset: preset})
			if err != nil {
				t.Errorf("%s %s: %v", tc.encoder, preset, err)
				continue
			}
			e.Close()
		}
		_, err := NewVideoEncoder(VideoConfig{Encoder: tc.encoder, Width: 320, Height: 180, FPS: 30,
			Bitrate: 500_000, KeyframeInterval: time.Second, Preset: "warpspeed"})
		if err == nil || errors.Is(err, ErrEncoderUnavailable) {
			t.Errorf("%s: preset warpspeed gave %v, want a settings error", tc.encoder, err)
		}
	}
	for in, want := range map[string]int{"ultrafast": 12, "veryfast": 10, "medium": 7, "veryslow": 4, "8": 8, "-1": -1} {
		if got, err := svtPreset(in); err != nil || got != want {
			t.Errorf("svtPreset(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"14", "-3", "fastest", ""} {
		if _, err := svtPreset(in); err == nil {
			t.Errorf("svtPreset(%q) accepted", in)
		}
	}
}

// libx265 and libsvtav1 keep their first rate (FFmpeg's wrappers read it only
// when they open) and Bitrate says so; libx264's changes.
func TestSetBitrateKeepsTheFirstRateWhereTheEncoderCannotChange(t *testing.T) {
	for _, tc := range streamEncoders {
		e, err := NewVideoEncoder(VideoConfig{Encoder: tc.encoder, Width: 320, Height: 180, FPS: 30,
			Bitrate: 800_000, KeyframeInterval: time.Second, Preset: "ultrafast", Adjustable: true})
		if err != nil {
			t.Fatal(err)
		}
		e.SetBitrate(400_000)
		want := 800_000
		if tc.encoder == "libx264" {
			want = 400_000
		}
		if got := e.Bitrate(); got != want {
			t.Errorf("%s: Bitrate() = %d after SetBitrate(400000), want %d", tc.encoder, got, want)
		}
		e.Close()
	}
}

// An SVT-AV1 encoder closed before any frame, or flushed without one, is
// freed at once: SVT-AV1 1.4 itself would wait for good in either case.
func TestSVTAV1ClosesWithoutFrames(t *testing.T) {
	for _, flush := range []bool{false, true} {
		e, err := NewVideoEncoder(VideoConfig{Encoder: "libsvtav1", Width: 320, Height: 180, FPS: 30,
			Bitrate: 500_000, KeyframeInterval: time.Second, Preset: "ultrafast"})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			var err error
			if flush {
				err = e.Flush(func(Packet) { t.Error("a packet from an encoder sent no frame") })
			}
			e.Close()
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("flush: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("closing (flush %v) an encoder sent no frame still hangs after 20 s", flush)
		}
	}
}

// BenchmarkEncodeSpeed is how many frames a second each streaming encoder
// makes at 720p and 360p at the two fastest presets, from pictures with
// motion and texture (a flat test image would flatter every encoder). The
// app picks the slowest preset that keeps up with the frame rate.
func BenchmarkEncodeSpeed(b *testing.B) {
	for _, size := range [][3]int{{1280, 720, 2_500_000}, {640, 360, 800_000}} {
		pics := DetailedPictures(size[0], size[1], 30)
		for _, enc := range []string{"libx264", "libx265", "libsvtav1"} {
			for _, preset := range []string{"ultrafast", "veryfast"} {
				b.Run(fmt.Sprintf("%dp/%s/%s", size[1], enc, preset), func(b *testing.B) {
					e, err := NewVideoEncoder(VideoConfig{Encoder: enc, Width: size[0], Height: size[1], FPS: 30,
						Bitrate: size[2], KeyframeInterval: 2 * time.Second, Preset: preset, Tune: "zerolatency"})
					if err != nil {
						b.Fatal(err)
					}
					defer e.Close()
					bytes := 0
					emit := func(p Packet) { bytes += len(p.Data) }
					n := int64(0)
					for b.Loop() {
						if err := e.Encode(pics[n%int64(len(pics))], n, false, time.Time{}, emit); err != nil {
							b.Fatal(err)
						}
						n++
					}
					b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "fps")
					b.ReportMetric(float64(bytes*8)/(float64(n)/30)/1000, "kb/s")
					if err := e.Flush(func(Packet) {}); err != nil {
						b.Fatal(err)
					}
				})
			}
		}
	}
}
