package promproxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// MinKeyLength is the shortest key accepted, in bytes.
const MinKeyLength = 32

// tokenContext separates these tokens from any other use of the key (v1
// tokens signed the name alone).
const tokenContext = "canopy tenant prometheus proxy v2\x00"

// Token is the bearer token of one Tenant object: HMAC-SHA256, under key,
// of its name and UID, hex. A Tenant deleted and created again under the
// same name has a new UID, so the old object's token is worthless, as is
// any token once its Tenant is gone.
func Token(key []byte, tenant string, uid types.UID) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenContext + tenant + "\x00" + string(uid)))
	return hex.EncodeToString(m.Sum(nil))
}

// validToken compares in constant time.
func validToken(key []byte, tenant string, uid types.UID, token string) bool {
	return hmac.Equal([]byte(Token(key, tenant, uid)), []byte(token))
}

// ValidateKey rejects a key too short to resist guessing.
func ValidateKey(key []byte) error {
	if len(key) < MinKeyLength {
		return fmt.Errorf("key is %d bytes, want at least %d (e.g. head -c 32 /dev/urandom | base64)", len(key), MinKeyLength)
	}
	return nil
}

// ReadKeyFile reads a key file (such as a mounted Secret), ignoring
// surrounding whitespace, and validates it.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	key := []byte(strings.TrimSpace(string(b)))
	if err := ValidateKey(key); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}
