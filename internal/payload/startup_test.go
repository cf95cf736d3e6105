package payload

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
)

// chroma's lexers and styles packages parse every definition they embed at init: the
// command must not link them, so that `show` starts without that cost.
func TestTheCommandDoesNotLinkChromasRegistries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/stowage-cli/stowage/cmd/stowage").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/alecthomas/chroma/v2/lexers" || dep == "github.com/alecthomas/chroma/v2/styles" {
			t.Errorf("cmd/stowage links %s, whose init parses every chroma definition", dep)
		}
	}
}

// The embedded copies are chroma's own: the same colours and the same tokens.
func TestEmbeddedChromaDefinitionsMatchChromas(t *testing.T) {
	for _, name := range []string{LightStyle, DarkStyle} {
		ours, theirs := chromaStyle(name), styles.Get(name)
		if theirs == styles.Fallback {
			t.Fatalf("chroma has no style %s", name)
		}
		for _, tt := range []chroma.TokenType{chroma.Error, chroma.NameTag, chroma.LiteralStringDouble,
			chroma.LiteralNumber, chroma.Keyword, chroma.Punctuation, chroma.Comment, chroma.NameAttribute, chroma.Text} {
			if a, b := ours.Get(tt), theirs.Get(tt); a != b {
				t.Errorf("%s %s: embedded %v, chroma %v", name, tt, a, b)
			}
		}
	}
	body := `{"a":[1,true,null,"x\"y"]}` + "\n" + `<r a="1"><!-- c --><b>&amp;</b></r>`
	for kind, name := range map[Kind]string{JSON: "json", XML: "xml"} {
		it1, err1 := lexerFor(kind).Tokenise(nil, body)
		it2, err2 := chroma.Coalesce(lexers.Get(name)).Tokenise(nil, body)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		a, b := it1.Tokens(), it2.Tokens()
		if len(a) != len(b) {
			t.Fatalf("%s: %d tokens, chroma %d", name, len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s token %d: %v, chroma %v", name, i, a[i], b[i])
			}
		}
	}
}
