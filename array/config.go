package array

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config lists the storage systems whose management API vmstor may ask.
// It is read from a JSON file (see docs/arrays.md):
//
//	{
//	  "timeout": "30s",
//	  "ontap": [{"name": "cluster1", "url": "https://cluster1.example.com",
//	             "ca_file": "ca.pem", "username": "vmstor",
//	             "password_env": "VMSTOR_ONTAP_PASSWORD"}],
//	  "pure":  [{"name": "pure01", "url": "https://pure01.example.com",
//	             "api_token_file": "/etc/vmstor/pure01.token"}]
//	}
//
// Secrets come only from an environment variable or a file, never from the
// config itself or the command line.
type Config struct {
	// Timeout bounds each request to an array; default 30s.
	Timeout Duration   `json:"timeout"`
	ONTAP   []Endpoint `json:"ontap"`
	Pure    []Endpoint `json:"pure"`
}

// Endpoint is one ONTAP cluster or FlashArray.
type Endpoint struct {
	// Name is how errors and the inventory name the endpoint; default
	// the URL's host.
	Name string `json:"name"`
	// URL is https://host[:port] of the cluster management LIF or array.
	URL string `json:"url"`
	// CAFile is a PEM bundle to verify the endpoint's certificate with,
	// instead of the system roots (relative to the config file).
	CAFile string `json:"ca_file,omitempty"`
	// InsecureSkipVerify turns certificate verification off. Only for
	// labs: the credentials go to whoever answers.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// Username is the ONTAP user (a read-only role is enough).
	Username string `json:"username,omitempty"`
	// PasswordEnv / PasswordFile name where the ONTAP password is.
	PasswordEnv  string `json:"password_env,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
	// APITokenEnv / APITokenFile name where the FlashArray API token is.
	APITokenEnv  string `json:"api_token_env,omitempty"`
	APITokenFile string `json:"api_token_file,omitempty"`
	// Timeout overrides Config.Timeout for this endpoint.
	Timeout Duration `json:"timeout,omitempty"`
	// PageSize is the records per page asked for (ONTAP max_records,
	// Pure limit); 0 keeps the client's default (1000 / 500).
	PageSize int `json:"page_size,omitempty"`

	secret string // resolved password or API token
	roots  *x509.CertPool
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "30s", "2m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

const defaultTimeout = 30 * time.Second

// secretKeys are fields people write by habit; they get a pointed error.
var secretKeys = []string{"password", "api_token", "token", "secret"}

// LoadConfig reads and checks a config file and resolves its secrets.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read array config: %w", err)
	}
	return ParseConfig(b, filepath.Dir(path), os.Getenv)
}

// ParseConfig parses a config; relative file names are taken from dir and
// environment variables from getenv.
func ParseConfig(b []byte, dir string, getenv func(string) string) (*Config, error) {
	var raw struct {
		ONTAP []map[string]json.RawMessage `json:"ontap"`
		Pure  []map[string]json.RawMessage `json:"pure"`
	}
	if err := json.Unmarshal(b, &raw); err == nil {
		for kind, eps := range map[string][]map[string]json.RawMessage{"ontap": raw.ONTAP, "pure": raw.Pure} {
			for i, ep := range eps {
				for _, k := range secretKeys {
					if _, ok := ep[k]; ok {
						return nil, fmt.Errorf("%s[%d]: %q is not read: put the secret in a file or an environment variable and name it with %s_file or %s_env", kind, i, k, k, k)
					}
				}
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("array config: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(defaultTimeout)
	}
	var errs []error
	for i := range c.ONTAP {
		if err := c.ONTAP[i].resolve("ontap", i, dir, getenv); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range c.Pure {
		if err := c.Pure[i].resolve("pure", i, dir, getenv); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}

func (e *Endpoint) resolve(kind string, i int, dir string, getenv func(string) string) error {
	where := fmt.Sprintf("%s[%d]", kind, i)
	if e.Name != "" {
		where += " (" + e.Name + ")"
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%s: url %q: want https://host[:port]", where, e.URL)
	}
	if e.Name == "" {
		e.Name = u.Host
	}
	if e.CAFile != "" {
		p := e.CAFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		pem, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: ca_file: %w", where, err)
		}
		e.roots = x509.NewCertPool()
		if !e.roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: ca_file %s holds no PEM certificate", where, p)
		}
	}
	envKey, fileKey, envName, fileName := "password_env", "password_file", e.PasswordEnv, e.PasswordFile
	if kind == "pure" {
		envKey, fileKey, envName, fileName = "api_token_env", "api_token_file", e.APITokenEnv, e.APITokenFile
	} else if e.Username == "" {
		return fmt.Errorf("%s: username is missing", where)
	}
	switch {
	case envName != "" && fileName != "":
		return fmt.Errorf("%s: set %s or %s, not both", where, envKey, fileKey)
	case envName != "":
		e.secret = getenv(envName)
		if e.secret == "" {
			return fmt.Errorf("%s: environment variable %s (%s) is empty or unset", where, envName, envKey)
		}
	case fileName != "":
		p := fileName
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", where, fileKey, err)
		}
		if fi.Mode().Perm()&0o004 != 0 {
			return fmt.Errorf("%s: %s %s is readable by everyone: chmod o-r it", where, fileKey, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", where, fileKey, err)
		}
		e.secret = strings.TrimRight(string(b), "\r\n")
		if e.secret == "" {
			return fmt.Errorf("%s: %s %s is empty", where, fileKey, p)
		}
	default:
		return fmt.Errorf("%s: no credentials: set %s or %s", where, envKey, fileKey)
	}
	return nil
}

// httpClient builds the endpoint's HTTP client: its own TLS roots, its
// timeout, no proxy surprises beyond the environment's.
func (e *Endpoint) httpClient(timeout time.Duration) *http.Client {
	if e.Timeout > 0 {
		timeout = time.Duration(e.Timeout)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{
		RootCAs:            e.roots,
		InsecureSkipVerify: e.InsecureSkipVerify, //nolint:gosec // opt-in, documented
		MinVersion:         tls.VersionTLS12,
	}
	t.ResponseHeaderTimeout = timeout
	return &http.Client{Transport: t, Timeout: timeout}
}
