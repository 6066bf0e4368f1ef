// Package image checks the Dockerfile without running Docker: its go build
// line is the one `make build` runs, its final stage is a pinned distroless
// image, and it runs as a numeric non-root user.
package image

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, USER...
	Args string
}

// stage is the instructions from one FROM to the next.
type stage struct {
	From  string // the image, without "AS name"
	Instr []instruction
}

func parseDockerfile(t *testing.T, data string) []stage {
	t.Helper()
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			if len(f) == 0 {
				t.Fatalf("FROM without an image: %q", line)
			}
			stages = append(stages, stage{From: f[0]})
			return
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("%s before the first FROM", in.Cmd)
			}
			return
		}
		stages[len(stages)-1].Instr = append(stages[len(stages)-1].Instr, in)
	}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		flush()
	}
	flush()
	return stages
}

// goBuild is one go build command: its environment assignments, flags
// (without -o and its value) and package.
type goBuild struct {
	Env   []string
	Flags []string
	Pkg   string
}

// parseGoBuild reads a shell command of the form
// `[VAR=value...] go build [flags...] -o out pkg`. Quotes are refused, so
// that splitting on spaces is the shell's own splitting.
func parseGoBuild(t *testing.T, cmd string) goBuild {
	t.Helper()
	if strings.ContainsAny(cmd, `'"`+"`;&|") {
		t.Fatalf("go build line %q: quotes and compound commands are not supported; keep it one plain command", cmd)
	}
	f := strings.Fields(cmd)
	i := 0
	var b goBuild
	for ; i < len(f) && strings.Contains(f[i], "="); i++ {
		b.Env = append(b.Env, f[i])
	}
	if i+1 >= len(f) || f[i] != "go" || f[i+1] != "build" {
		t.Fatalf("%q is not [VAR=value...] go build ...", cmd)
	}
	rest := f[i+2:]
	if len(rest) == 0 {
		t.Fatalf("%q builds no package", cmd)
	}
	b.Pkg = rest[len(rest)-1]
	for j := 0; j < len(rest)-1; j++ {
		if rest[j] == "-o" {
			j++ // the output path differs by design
			continue
		}
		b.Flags = append(b.Flags, rest[j])
	}
	slices.Sort(b.Env)
	return b
}

// makeBuild is the go build line `make build` runs for the manager, as
// make itself expands it.
func makeBuild(t *testing.T, root string) goBuild {
	t.Helper()
	cmd := exec.Command("make", "-n", "-s", "--no-print-directory", "build")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "go build") && strings.HasSuffix(strings.TrimSpace(l), "./cmd/canopy-manager") {
			return parseGoBuild(t, strings.TrimSpace(l))
		}
	}
	t.Fatalf("make -n build runs no go build of ./cmd/canopy-manager:\n%s", out)
	return goBuild{}
}

func readDockerfile(t *testing.T, root string) []stage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a final stage", len(stages))
	}
	return stages
}

// dockerBuild is the Dockerfile's go build of the manager. GOOS and GOARCH
// are dropped: they are the target platform BuildKit passes, not build
// flags, and empty values build for the host as make does.
func dockerBuild(t *testing.T, stages []stage) goBuild {
	t.Helper()
	var found []goBuild
	for _, s := range stages {
		for _, in := range s.Instr {
			if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
				found = append(found, parseGoBuild(t, in.Args))
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("the Dockerfile has %d go build lines, want 1", len(found))
	}
	b := found[0]
	b.Env = slices.DeleteFunc(b.Env, func(e string) bool {
		return strings.HasPrefix(e, "GOOS=") || strings.HasPrefix(e, "GOARCH=")
	})
	return b
}

func TestDockerfileBuildsAsMakeBuild(t *testing.T) {
	root := repoRoot(t)
	mk, df := makeBuild(t, root), dockerBuild(t, readDockerfile(t, root))
	if !slices.Contains(mk.Env, "CGO_ENABLED=0") {
		t.Errorf("make build's environment %v lacks CGO_ENABLED=0: the binary must be static", mk.Env)
	}
	if !slices.Contains(mk.Flags, "-trimpath") {
		t.Errorf("make build's flags %v lack -trimpath", mk.Flags)
	}
	if !slices.Equal(df.Env, mk.Env) {
		t.Errorf("the Dockerfile builds with environment %v, make build with %v", df.Env, mk.Env)
	}
	if !slices.Equal(df.Flags, mk.Flags) {
		t.Errorf("the Dockerfile builds with flags %v, make build with %v", df.Flags, mk.Flags)
	}
	if df.Pkg != mk.Pkg {
		t.Errorf("the Dockerfile builds %s, make build %s", df.Pkg, mk.Pkg)
	}
}

func TestFinalStageIsPinnedDistrolessAndNonRoot(t *testing.T) {
	stages := readDockerfile(t, repoRoot(t))
	final := stages[len(stages)-1]
	img, tag, hasTag := strings.Cut(final.From, ":")
	if !strings.HasPrefix(img, "gcr.io/distroless/") {
		t.Errorf("the final stage is FROM %s, want a gcr.io/distroless image", final.From)
	}
	if !hasTag || tag == "" || tag == "latest" {
		t.Errorf("the final stage is FROM %s, want it pinned by a tag other than latest", final.From)
	}
	var user string
	for _, in := range final.Instr {
		if in.Cmd == "USER" {
			user = in.Args
		}
		if in.Cmd == "RUN" {
			t.Errorf("the final stage runs %q; distroless has no shell", in.Args)
		}
	}
	// A numeric uid, so that the kubelet can check runAsNonRoot.
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("the final stage's USER is %q, want a numeric non-root uid", user)
	}
}

// The build stage copies every directory of the module the manager's
// packages come from.
func TestDockerfileCopiesTheManagersPackages(t *testing.T) {
	root := repoRoot(t)
	var copied []string
	for _, in := range readDockerfile(t, root)[0].Instr {
		if in.Cmd == "COPY" {
			f := strings.Fields(in.Args)
			for _, src := range f[:len(f)-1] {
				copied = append(copied, strings.TrimSuffix(src, "/"))
			}
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./cmd/canopy-manager")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(absRoot, dir)
		if err != nil {
			t.Fatal(err)
		}
		top := strings.Split(filepath.ToSlash(rel), "/")[0]
		if !slices.Contains(copied, top) {
			t.Errorf("the manager needs package %s, but the Dockerfile copies only %v", rel, copied)
		}
	}
}
