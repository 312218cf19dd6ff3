// Package output writes listing results as an aligned table, JSON or CSV, in
// one place for every command.
package output

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Formats accepted by Write.
const (
	Table = "table"
	JSON  = "json"
	CSV   = "csv"
)

// Rows is the tabular view of a result: a header and one row per line.
type Rows struct {
	Header []string
	Rows   [][]string
}

// Add appends a row.
func (r *Rows) Add(cells ...string) { r.Rows = append(r.Rows, cells) }

// Write writes v as JSON, or rows as a table or CSV, per format.
func Write(w io.Writer, format string, v any, rows *Rows) error {
	switch format {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(rows.Header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows.Rows); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	case Table, "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(rows.Header, "\t"))
		for _, r := range rows.Rows {
			cells := make([]string, len(r))
			for i, c := range r {
				if c == "" {
					c = "-"
				}
				// A tab or newline inside a cell would break the columns.
				cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		return tw.Flush()
	default:
		return fmt.Errorf("unknown output format %q (want table, json or csv)", format)
	}
}
