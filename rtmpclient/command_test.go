package rtmpclient

import (
	"testing"

	"github.com/tallystudio/tally/rtmpclient/amf"
)

// A connect _result as nginx-rtmp sends it: parseCommand finds the name, the
// transaction, and the status code in the first argument.
func TestParseCommandReadsNginxConnectResult(t *testing.T) {
	b, err := amf.AppendAMF0(nil, "_result", 1.0,
		amf.Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}, {Key: "capabilities", Value: 31.0}},
		amf.Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetConnection.Connect.Success"},
			{Key: "description", Value: "Connection succeeded."}, {Key: "objectEncoding", Value: 0.0}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCommand(Message{Type: TypeCommandAMF0, Payload: b})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "_result" || c.Transaction != 1 || c.Info().String("code") != "NetConnection.Connect.Success" {
		t.Fatalf("got %+v", c)
	}
}

// Type 17 bodies start with a format byte that parseCommand must skip.
func TestParseCommandReadsAMF3CommandMessage(t *testing.T) {
	body := append([]byte{0}, mustHex("02 0007 5f726573756c74 00 4000000000000000 05 00 3ff0000000000000")...)
	c, err := parseCommand(Message{Type: TypeCommandAMF3, Payload: body})
	if err != nil || c.Name != "_result" || c.Transaction != 2 || c.Arg(0) != 1.0 {
		t.Fatalf("got %+v, %v", c, err)
	}
}
