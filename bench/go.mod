module github.com/tallystudio/tally/bench

go 1.26

require (
	github.com/bluenviron/gortmplib v0.1.0
	github.com/sirupsen/logrus v1.7.0
	github.com/tallystudio/tally v0.0.0
	github.com/yutopp/go-rtmp v0.0.7
)

require (
	github.com/abema/go-mp4 v1.4.1 // indirect
	github.com/bluenviron/gortsplib/v5 v5.0.0 // indirect
	github.com/bluenviron/mediacommon/v2 v2.4.3 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-multierror v1.1.0 // indirect
	github.com/mitchellh/mapstructure v1.4.1 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtp v1.8.22 // indirect
	github.com/pion/sdp/v3 v3.0.16 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/yutopp/go-amf0 v0.1.0 // indirect
	golang.org/x/sys v0.36.0 // indirect
)

replace github.com/tallystudio/tally => ../
