package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds what Load reads: a config is a few KiB, anything bigger is the wrong file.
const maxFileSize = 1 << 20

// maxNodes bounds the YAML nodes visited, aliases expanded, so that an alias bomb is an
// error rather than a hang. A real config has a few dozen nodes per environment.
const maxNodes = 20000

// NotFoundError says there is no config file at Path and how to create one.
type NotFoundError struct{ Path string }

func (e *NotFoundError) Error() string {
	p := shellQuote(e.Path)
	return fmt.Sprintf("no config file at %s; create one with\n  mkdir -p %s && stowage config example > %s\nthen edit it (or pass --config FILE)",
		e.Path, shellQuote(filepath.Dir(e.Path)), p)
}

func (e *NotFoundError) Unwrap() error { return fs.ErrNotExist }

// Load reads the config file at path strictly (unknown fields are errors), names each
// environment and applies defaults. It does not validate: call Validate for that, so that
// every problem is reported at once. Parse errors come back as an *Error.
func Load(path string) (*File, error) {
	f, err := LoadPartial(path)
	if err != nil {
		return nil, err
	}
	if len(f.shape) > 0 {
		return nil, &Error{Problems: f.shape}
	}
	return f, nil
}

// LoadPartial is Load for reporting every problem at once (stowage config validate) and
// for using one environment while another is broken. A file with shape problems (unknown
// fields, values of the wrong type, duplicate keys) still comes back: what could not be
// read is left out (defaults apply), and Validate reports the shape problems together with
// the field checks of everything else. An environment with a shape problem of its own has
// at least one error from Validate, so it is never used as if it were whole. Only a file
// that cannot be read at all (missing, not YAML, an alias bomb) is an error.
func LoadPartial(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("no config file path: neither XDG_CONFIG_HOME nor HOME is set; pass --config FILE")
	}
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{Path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w; check the file's permissions", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read config %s: it is a directory; pass the YAML file inside it", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read config %s: larger than %d KiB; is it the right file?", path, maxFileSize>>10)
	}
	f, err := ParsePartial(path, data)
	if err != nil {
		return nil, err
	}
	f.perm, f.permKnown = st.Mode().Perm(), true
	return f, nil
}

// Parse reads a config from data; name is used in messages (and as File.Path). Like Load
// it applies defaults but does not validate. It never panics: a parser failure is an error.
func Parse(name string, data []byte) (*File, error) {
	f, err := ParsePartial(name, data)
	if err != nil {
		return nil, err
	}
	if len(f.shape) > 0 {
		return nil, &Error{Problems: f.shape}
	}
	return f, nil
}

// ParsePartial is Parse as LoadPartial reads: shape problems leave out what they concern
// and are reported by Validate.
func ParsePartial(name string, data []byte) (f *File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &Error{Problems: []Problem{{File: name,
				Message: fmt.Sprintf("the YAML parser failed (%s); check the file's syntax", printable(fmt.Sprint(r)))}}}
		}
	}()
	f = &File{Path: name, lines: map[string]int{}, explicit: map[string]bool{}}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // empty file: Validate says what to add
		}
		return nil, &Error{Problems: []Problem{syntaxProblem(name, err)}}
	}
	w := &walker{file: name, lines: f.lines, explicit: f.explicit, active: map[*yaml.Node]bool{}}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		w.problems = append(w.problems, syntaxProblem(name, err))
	case !isEmptyDocument(&extra):
		w.problems = append(w.problems, Problem{File: name, Line: extra.Line,
			Message: "the file holds more than one YAML document (---); put every environment under the one environments: mapping"})
	}
	w.walk(&doc, reflect.TypeFor[File](), "", "")
	if w.nodes >= maxNodes {
		// Decoding what the walk gave up on could be as costly as the walk would have been.
		return nil, &Error{Problems: w.problems}
	}
	// Leave out what the walk could not read, after the walk: an anchored value is reported
	// at every path that uses it, so every environment using it gets the problem.
	for i := len(w.prune) - 1; i >= 0; i-- {
		w.prune[i]()
	}
	if err := doc.Decode(f); err != nil {
		// The walk checked the shape, so this is a corner the walk does not know about.
		return nil, &Error{Problems: append(w.problems, syntaxProblem(name, err))}
	}
	f.shape, f.broken = w.problems, w.broken
	f.finish()
	return f, nil
}

// finish names the environments and applies defaults.
func (f *File) finish() {
	for name, e := range f.Environments {
		if e == nil { // "prod:" with nothing under it
			e = &Env{}
			f.Environments[name] = e
		}
		e.Name = name
		prefix := "environments." + name + "."
		e.applyDefaults(func(field string) bool { return f.explicit[prefix+field] })
	}
}

func isEmptyDocument(n *yaml.Node) bool {
	if n.Kind == 0 {
		return true
	}
	return n.Kind == yaml.DocumentNode && (len(n.Content) == 0 || isNull(n.Content[0]))
}

var yamlLineError = lazy(`^yaml: (?:line (\d+): )?(.*)$`)

// syntaxProblem turns a yaml.v3 error into a Problem with the line split out.
func syntaxProblem(name string, err error) Problem {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = "yaml: " + te.Errors[0]
	}
	p := Problem{File: name}
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	p.Message = "not valid YAML: " + printable(msg)
	return p
}

// walker checks the YAML tree against the Go types before decoding, so that every unknown
// field, wrong type and duplicate key is reported with its line and dotted path, all at once.
type walker struct {
	file     string
	problems []Problem
	lines    map[string]int
	explicit map[string]bool
	active   map[*yaml.Node]bool // anchors being expanded, to catch an alias inside itself
	nodes    int
	// prune leaves out what could not be read, run after the walk; broken lists the paths
	// it concerns, so that Validate does not report their defaults as problems too.
	prune  []func()
	broken []string
}

// drop leaves the value n at path out of the decoded file: it becomes null, so the
// field takes its default.
func (w *walker) drop(n *yaml.Node, path string) {
	w.broken = append(w.broken, path)
	delete(w.explicit, path)
	w.prune = append(w.prune, func() {
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	})
}

// dropPair removes the i-th key/value pair of the mapping n (a duplicate or an unusable
// key). The pair was never walked, so nothing else depends on it.
func (w *walker) dropPair(n *yaml.Node, i int) {
	k, v := n.Content[i], n.Content[i+1]
	w.prune = append(w.prune, func() {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j] == k && n.Content[j+1] == v {
				n.Content = append(n.Content[:j:j], n.Content[j+2:]...)
				return
			}
		}
	})
}

var durationType = reflect.TypeFor[Duration]()

func (w *walker) add(line int, env, field, format string, args ...any) {
	w.problems = append(w.problems, Problem{File: w.file, Line: line, Env: env, Field: field,
		Message: fmt.Sprintf(format, args...)})
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path, env string) {
	w.nodes++
	if w.nodes == maxNodes {
		w.add(n.Line, env, path, "too many YAML nodes (more than %d once aliases are expanded); is this a stowage config?", maxNodes)
	}
	if w.nodes >= maxNodes {
		return
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil {
			return
		}
		if w.active[target] {
			w.add(n.Line, env, path, "alias *%s refers to the value that contains it", printable(n.Value))
			w.drop(n, path)
			return
		}
		w.active[target] = true
		w.walk(target, t, path, env)
		delete(w.active, target)
		return
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			w.walk(n.Content[0], t, path, env)
		}
		return
	}
	if isNull(n) {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		w.leaf(n, t, path, env)
	case t.Kind() == reflect.Struct:
		w.mapping(n, t, path, env)
	case t.Kind() == reflect.Map:
		w.environments(n, t, path)
	case t.Kind() == reflect.Slice:
		w.sequence(n, t, path, env)
	default:
		w.leaf(n, t, path, env)
	}
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, path, env string) {
	if n.Kind != yaml.MappingNode {
		what := "a mapping of " + strings.Join(fieldNames(t), ", ")
		if path == "" {
			what = "a mapping with default_env and environments"
		}
		w.add(n.Line, env, path, "expected %s, found a %s", what, kindName(n))
		w.drop(n, path)
		return
	}
	fields := fieldsOf(t)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			w.merge(v, t, path, env)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.add(k.Line, env, path, "keys must be plain names, found a %s", kindName(k))
			w.dropPair(n, i)
			continue
		}
		child := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			w.add(k.Line, env, child, "set twice (first on line %d); keep one", first)
			w.dropPair(n, i)
			continue
		}
		seen[k.Value] = k.Line
		ft, ok := fields[k.Value]
		if !ok {
			w.add(k.Line, env, child, "unknown field%s; expected one of %s",
				suggest(k.Value, fieldNames(t)), strings.Join(fieldNames(t), ", "))
			continue
		}
		w.record(k, v, child)
		w.walk(v, ft, child, env)
	}
}

// merge walks a "<<: *anchor" value, which is a mapping or a list of mappings.
func (w *walker) merge(v *yaml.Node, t reflect.Type, path, env string) {
	target := v
	for target.Kind == yaml.AliasNode && target.Alias != nil {
		target = target.Alias
	}
	if target.Kind == yaml.SequenceNode {
		for _, item := range target.Content {
			w.walk(item, t, path, env)
		}
		return
	}
	w.walk(v, t, path, env)
}

func (w *walker) environments(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.add(n.Line, "", path, "expected a mapping of environment names (staging:, prod:) to their settings, found a %s", kindName(n))
		w.drop(n, path)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			w.add(k.Line, "", path, "environment names must be plain names, found a %s", kindName(k))
			w.dropPair(n, i)
			continue
		}
		child := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			w.add(k.Line, k.Value, child, "environment declared twice (first on line %d); rename or merge them", first)
			// The first declaration is kept; this problem (Env set) keeps it from being used.
			w.dropPair(n, i)
			continue
		}
		seen[k.Value] = k.Line
		w.record(k, v, child)
		w.walk(v, t.Elem(), child, k.Value)
	}
}

func (w *walker) sequence(n *yaml.Node, t reflect.Type, path, env string) {
	if n.Kind != yaml.SequenceNode {
		w.add(n.Line, env, path, "expected a list, e.g. [PROCESSED, SKIPPED], found a %s", kindName(n))
		w.drop(n, path)
		return
	}
	for i, item := range n.Content {
		w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), env)
	}
}

func (w *walker) leaf(n *yaml.Node, t reflect.Type, path, env string) {
	if n.Kind != yaml.ScalarNode {
		w.add(n.Line, env, path, "expected a single value, found a %s", kindName(n))
		w.drop(n, path)
		return
	}
	if t == durationType {
		if _, err := ParseDuration(n.Value); err != nil {
			w.add(n.Line, env, path, "%v", err)
			w.drop(n, path)
		}
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err == nil {
		return
	}
	w.drop(n, path)
	// Values are quoted only for bool and number fields: string fields may hold secrets.
	switch t.Kind() {
	case reflect.Bool:
		w.add(n.Line, env, path, "expected true or false, found %s", quote(n.Value))
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64:
		w.add(n.Line, env, path, "expected a number, found %s", quote(n.Value))
	default:
		w.add(n.Line, env, path, "cannot be read as text; quote the value")
	}
}

func (w *walker) record(k, v *yaml.Node, path string) {
	if _, ok := w.lines[path]; !ok {
		w.lines[path] = k.Line
	}
	target := v
	for target.Kind == yaml.AliasNode && target.Alias != nil && target != target.Alias {
		target = target.Alias
	}
	if !isNull(target) {
		w.explicit[path] = true
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldsOf maps yaml names to field types for a struct type.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			out[name] = f.Type
		}
	}
	return out
}

// fieldNames lists a struct type's yaml names in declaration order.
func fieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// suggest returns ` (did you mean "x"?)` for the closest known name, or "".
func suggest(got string, known []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
	}
	best, bestDist := "", 3
	for _, k := range known {
		d := editDistance(norm(got), norm(k))
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// shellQuote quotes p for a copy-pasteable command when it needs it.
func shellQuote(p string) string {
	if p != "" && strings.IndexFunc(p, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '~' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// Names lists the environment names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Environments))
	for name := range f.Environments {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
