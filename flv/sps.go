package flv

import (
	"errors"
	"fmt"
)

// SPSInfo is what Tally needs from an H.264 sequence parameter set.
type SPSInfo struct {
	Profile, Level byte
	Width, Height  int
	ChromaFormat   int // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
	BitDepthLuma   int
	BitDepthChroma int
	FrameRate      float64 // from the VUI timing info, 0 when absent
}

// bitReader reads an RBSP (emulation prevention bytes already removed).
type bitReader struct {
	b   []byte
	pos int // bit position
}

var errBits = errors.New("sps: truncated")

func (r *bitReader) bit() (uint32, error) {
	if r.pos >= len(r.b)*8 {
		return 0, errBits
	}
	v := uint32(r.b[r.pos/8]>>(7-r.pos%8)) & 1
	r.pos++
	return v, nil
}

func (r *bitReader) bits(n int) (uint32, error) {
	var v uint32
	for i := 0; i < n; i++ {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v, nil
}

// ue reads an unsigned Exp-Golomb code.
func (r *bitReader) ue() (uint32, error) {
	zeros := 0
	for {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		if zeros++; zeros > 31 {
			return 0, errors.New("sps: Exp-Golomb code too long")
		}
	}
	rest, err := r.bits(zeros)
	return (1<<zeros - 1) + rest, err
}

func (r *bitReader) se() (int32, error) {
	v, err := r.ue()
	if v&1 == 1 {
		return int32((v + 1) / 2), err
	}
	return -int32(v / 2), err
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// ParseSPS parses an H.264 SPS NAL unit (with its one-byte NAL header). It
// is long because it reads the fields in the order H.264 7.3.2.1.1 lists
// them, one after the other; split up, the order would be harder to check.
func ParseSPS(nal []byte) (SPSInfo, error) {
	if len(nal) < 4 || nal[0]&0x1f != NALSPS {
		return SPSInfo{}, errors.New("sps: not an SPS NAL unit")
	}
	r := &bitReader{b: unescapeRBSP(nal[1:])}
	info := SPSInfo{Profile: nal[1], Level: nal[3], ChromaFormat: 1, BitDepthLuma: 8, BitDepthChroma: 8}
	r.pos = 24
	var err error
	must := func(v uint32, e error) uint32 {
		if err == nil {
			err = e
		}
		return v
	}
	must(r.ue()) // seq_parameter_set_id
	switch info.Profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		info.ChromaFormat = int(must(r.ue()))
		if info.ChromaFormat == 3 {
			must(r.bit()) // separate_colour_plane_flag
		}
		info.BitDepthLuma = int(must(r.ue())) + 8
		info.BitDepthChroma = int(must(r.ue())) + 8
		must(r.bit())           // qpprime_y_zero_transform_bypass_flag
		if must(r.bit()) == 1 { // seq_scaling_matrix_present_flag
			n := 8
			if info.ChromaFormat == 3 {
				n = 12
			}
			for i := 0; i < n && err == nil; i++ {
				if must(r.bit()) == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					last, next := int32(8), int32(8)
					for j := 0; j < size && err == nil; j++ {
						if next != 0 {
							d, e := r.se()
							if err == nil {
								err = e
							}
							next = (last + d + 256) % 256
						}
						if next != 0 {
							last = next
						}
					}
				}
			}
		}
	}
	must(r.ue())          // log2_max_frame_num_minus4
	switch must(r.ue()) { // pic_order_cnt_type
	case 0:
		must(r.ue())
	case 1:
		must(r.bit())
		_, e := r.se()
		_, e2 := r.se()
		if err == nil {
			err = errors.Join(e, e2)
		}
		n := must(r.ue())
		if n > 255 {
			return info, errors.New("sps: too many reference frames in POC cycle")
		}
		for i := uint32(0); i < n && err == nil; i++ {
			_, e := r.se()
			if err == nil {
				err = e
			}
		}
	}
	must(r.ue()) // max_num_ref_frames
	must(r.bit())
	wMbs := must(r.ue()) + 1
	hMapUnits := must(r.ue()) + 1
	frameMbsOnly := must(r.bit())
	if frameMbsOnly == 0 {
		must(r.bit()) // mb_adaptive_frame_field_flag
	}
	must(r.bit()) // direct_8x8_inference_flag
	var cl, cr, ct, cb uint32
	if must(r.bit()) == 1 {
		cl, cr, ct, cb = must(r.ue()), must(r.ue()), must(r.ue()), must(r.ue())
	}
	if err != nil {
		return info, fmt.Errorf("sps: %w", err)
	}
	if wMbs > 1024 || hMapUnits > 1024 {
		return info, fmt.Errorf("sps: implausible size %dx%d macroblocks", wMbs, hMapUnits)
	}
	cropX, cropY := uint32(1), 2-frameMbsOnly
	switch info.ChromaFormat {
	case 1:
		cropX, cropY = 2, 2*(2-frameMbsOnly)
	case 2:
		cropX, cropY = 2, 2-frameMbsOnly
	}
	info.Width = int(wMbs*16 - cropX*(cl+cr))
	info.Height = int((2-frameMbsOnly)*hMapUnits*16 - cropY*(ct+cb))
	if info.Width <= 0 || info.Height <= 0 {
		return info, errors.New("sps: cropping leaves no picture")
	}
	info.FrameRate = vuiFrameRate(r)
	return info, nil
}

// vuiFrameRate reads the VUI up to its timing info; 0 when absent or unreadable.
func vuiFrameRate(r *bitReader) float64 {
	if v, err := r.bit(); err != nil || v == 0 { // vui_parameters_present_flag
		return 0
	}
	skipIf := func(n int) bool { // a flag, then n bits when it is set
		f, err := r.bit()
		if err != nil {
			return false
		}
		if f == 1 {
			if _, err := r.bits(n); err != nil {
				return false
			}
		}
		return true
	}
	ar, err := r.bit()
	if err != nil {
		return 0
	}
	if ar == 1 {
		idc, err := r.bits(8)
		if err != nil {
			return 0
		}
		if idc == 255 {
			if _, err := r.bits(32); err != nil {
				return 0
			}
		}
	}
	if !skipIf(1) { // overscan
		return 0
	}
	vs, err := r.bit()
	if err != nil {
		return 0
	}
	if vs == 1 {
		if _, err := r.bits(4); err != nil {
			return 0
		}
		if !skipIf(24) {
			return 0
		}
	}
	cl, err := r.bit()
	if err != nil {
		return 0
	}
	if cl == 1 {
		if _, err := r.ue(); err != nil {
			return 0
		}
		if _, err := r.ue(); err != nil {
			return 0
		}
	}
	timing, err := r.bit()
	if err != nil || timing == 0 {
		return 0
	}
	units, err1 := r.bits(32)
	scale, err2 := r.bits(32)
	if err1 != nil || err2 != nil || units == 0 {
		return 0
	}
	return float64(scale) / float64(2*units)
}
