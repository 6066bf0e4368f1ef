package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned by WriteFile when the file is already there.
var ErrExists = errors.New("export file already exists")

// WriteFile writes name in dir with produce, atomically and only once. The
// file appears, complete and synced, only if produce returns nil; otherwise
// nothing is left behind. If name already exists it is left untouched and
// the error wraps ErrExists.
func WriteFile(dir, name string, perm fs.FileMode, produce func(io.Writer) error) (err error) {
	if name == "" || filepath.Base(name) != name {
		return fmt.Errorf("export file name %q must be a plain file name", name)
	}
	final := filepath.Join(dir, name)
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("writing %s: %w", final, ErrExists)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", final, err)
	}
	defer func() {
		if tmp != nil {
			_ = tmp.Close()
		}
		_ = os.Remove(tmp.Name())
	}()
	if err := produce(tmp); err != nil {
		return fmt.Errorf("producing %s: %w", final, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("setting mode of %s: %w", final, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", final, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", final, err)
	}
	if err := os.Link(tmp.Name(), final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("publishing %s: %w", final, ErrExists)
		}
		return fmt.Errorf("publishing %s: %w", final, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// WriteBuffered runs produce against a buffer and copies the result to w
// only if produce returned nil, so w never receives a partial report.
func WriteBuffered(w io.Writer, produce func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := produce(&buf); err != nil {
		return err
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}
