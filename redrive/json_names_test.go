package redrive

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lowerCamel is the shape of every JSON field stowage writes (ls -o json's contract:
// lastModified, contentType, updatedAt).
var lowerCamel = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// Everything redrive writes (journal, report, audit log, dry-run manifest lines) names its
// fields as ls -o json does, so a script reading one reads them all.
func TestEveryJSONFieldRedriveWritesIsLowerCamelCase(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[time.Time]() || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, ok := f.Tag.Lookup("json")
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" {
				continue
			}
			if !ok || name == "" {
				t.Errorf("%s.%s has no json name: it would be written as %q", path, f.Name, f.Name)
			} else if !lowerCamel.MatchString(name) {
				t.Errorf("%s.%s is written as %q, not lowerCamelCase", path, f.Name, name)
			}
			walk(path+"."+f.Name, f.Type)
		}
	}
	for _, v := range []any{Record{}, Manifest{}, Item{}, ItemResult{}, StatusRead{}, AuditEntry{}, Counts{}} {
		typ := reflect.TypeOf(v)
		walk(typ.Name(), typ)
	}
}

// The fields a dry-run manifest line, or a report's pre-send read, shares with an ls -o json
// row have ls's names.
func TestFieldsSharedWithLsHaveLsNames(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		want map[string]string // Go field → ls -o json name
	}{
		{reflect.TypeFor[Item](), map[string]string{
			"RequestID": "id", "Key": "key", "Size": "size", "LastModified": "lastModified",
			"ContentType": "contentType", "Status": "status",
		}},
		{reflect.TypeFor[StatusRead](), map[string]string{"State": "status", "Attempts": "attempts", "UpdatedAt": "updatedAt"}},
	} {
		for field, name := range c.want {
			f, ok := c.typ.FieldByName(field)
			if !ok {
				t.Errorf("%s has no field %s", c.typ.Name(), field)
				continue
			}
			if got, _, _ := strings.Cut(f.Tag.Get("json"), ","); got != name {
				t.Errorf("%s.%s is written as %q; ls -o json calls it %q", c.typ.Name(), field, got, name)
			}
		}
	}
}
