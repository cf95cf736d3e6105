package docs

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stowage-cli/stowage/redrive"
)

// fencedBlocks returns README's fenced blocks of one language and their first lines.
func fencedBlocks(readme, lang string) (blocks []string, lines []int) {
	in := false
	var cur strings.Builder
	for i, l := range strings.Split(readme, "\n") {
		switch t := strings.TrimSpace(l); {
		case !in && t == "```"+lang:
			in = true
			cur.Reset()
			lines = append(lines, i+2)
		case in && t == "```":
			in = false
			blocks = append(blocks, cur.String())
		case in:
			cur.WriteString(l + "\n")
		}
	}
	return blocks, lines
}

// TestReadmePoliciesAreValidJSON keeps the IAM policies copyable: each ```json block is one
// policy document whose statements have an effect, actions and resources.
func TestReadmePoliciesAreValidJSON(t *testing.T) {
	blocks, lines := fencedBlocks(readReadme(t), "json")
	if len(blocks) == 0 {
		t.Fatal("README.md shows no IAM policy")
	}
	for i, b := range blocks {
		var doc struct {
			Version   string
			Statement []map[string]any
		}
		dec := json.NewDecoder(strings.NewReader(b))
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("README.md:%d: the policy is not one JSON document: %v", lines[i], err)
			continue
		}
		if dec.More() {
			t.Errorf("README.md:%d: the block holds more than one JSON document", lines[i])
		}
		if doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
			t.Errorf("README.md:%d: want a policy document (Version 2012-10-17 and statements)", lines[i])
		}
		for _, st := range doc.Statement {
			for _, k := range []string{"Effect", "Action", "Resource"} {
				if st[k] == nil {
					t.Errorf("README.md:%d: statement %v has no %s", lines[i], st["Sid"], k)
				}
			}
		}
	}
}

// TestReadmeModesTableListsEveryMode: the Redrive safety modes table has a row for every
// mode redrive offers.
func TestReadmeModesTableListsEveryMode(t *testing.T) {
	readme := readReadme(t)
	i := strings.Index(readme, "| Mode | What is sent |")
	if i < 0 {
		t.Fatal("README.md has no modes table (| Mode | What is sent | ...)")
	}
	table := readme[i:]
	if j := strings.Index(table, "\n\n"); j >= 0 {
		table = table[:j]
	}
	for _, m := range redrive.Modes {
		if !strings.Contains(table, "\n| `"+string(m)+"` |") {
			t.Errorf("README.md's modes table has no row for --mode %s", m)
		}
	}
}
