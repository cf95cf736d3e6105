package cli

import "testing"

func TestExplore(t *testing.T) {
	d := startDemo(t)
	r := d.run(t, "", "ls", "--limit", "5")
	t.Logf("code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	r = d.run(t, "", "ls", "--limit", "8", "-o", "table")
	t.Logf("code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	r = d.run(t, "", "ls", "--status", "FAILED", "-o", "table")
	t.Logf("code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	r = d.run(t, "", "lost", "-o", "table")
	t.Logf("code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	r = d.run(t, "", "doctor")
	t.Logf("code %d\n%s\n%s", r.code, r.stdout, r.stderr)
}
