package importapigw

import (
	"fmt"
	"io"
)

// Note is an AWS setting the generated Caddyfile does not reproduce (or
// reproduces differently), with what the operator should do about it.
type Note struct {
	// Where names the AWS object: `usage plan a1b2c3 "Standard"`,
	// `GET /pets/{id}`, `gateway response WAF_FILTERED`.
	Where string
	// Field is the AWS field and its value, e.g. `quota.offset=100`.
	Field string
	// Do says what gpugate does instead and what to do.
	Do string
}

// String formats the note as one line.
func (n Note) String() string {
	return fmt.Sprintf("%s: %s: %s", n.Where, n.Field, n.Do)
}

// notes collects Notes in the order they are found.
type notes []Note

func (ns *notes) add(where, field, format string, args ...any) {
	*ns = append(*ns, Note{Where: where, Field: field, Do: fmt.Sprintf(format, args...)})
}

// WriteNotes prints the notes for an operator (stderr), one per line.
func WriteNotes(w io.Writer, ns []Note) {
	if len(ns) == 0 {
		return
	}
	fmt.Fprintf(w, "import-apigw: %d AWS setting(s) are not reproduced as they were; what to do:\n", len(ns))
	for _, n := range ns {
		fmt.Fprintf(w, "  - %s\n", n)
	}
}
