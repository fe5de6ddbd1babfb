package encode

import (
	"fmt"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// codecParameters snapshots an opened encoder's stream parameters (codec,
// size or sample layout, headers), registered on mem. A recording reads the
// snapshot, never the codec context an encoding goroutine is using (and that
// a restart for a keyframe replaces).
func codecParameters(mem *avmem.Closer, cc *astiav.CodecContext) (*astiav.CodecParameters, error) {
	p := avmem.Own(mem, astiav.AllocCodecParameters())
	if err := p.FromCodecContext(cc); err != nil {
		return nil, fmt.Errorf("encode: stream parameters: %w", err)
	}
	return p, nil
}
