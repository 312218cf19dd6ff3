package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/store/storetest"
)

const killHelperEnv = "VMSTOR_KILL_HELPER_DSN"

// killInventory is the i-th scan the helper stores: 2,000 VMs whose state
// changes every time, so each save rewrites thousands of rows and takes
// hundreds of milliseconds.
func killInventory(i int) *model.Inventory {
	inv := storetest.Generate(storetest.Default(2000), t0.Add(time.Duration(i)*time.Minute))
	for j := range inv.VMs {
		inv.VMs[j].State = "s" + strconv.Itoa(i)
	}
	if i%2 == 1 {
		storetest.Mutate(inv, 0.2, uint64(i), inv.ScannedAt)
	}
	return inv
}

// TestKillHelper is not a test: TestKillDuringSave runs the test binary again
// with this test selected, as a child process that stores scans in a loop
// until it is killed.
func TestKillHelper(t *testing.T) {
	dsn := os.Getenv(killHelperEnv)
	if dsn == "" {
		t.Skip("helper process of TestKillDuringSave")
	}
	start, _ := strconv.Atoi(os.Getenv("VMSTOR_KILL_HELPER_START"))
	s, err := Open(context.Background(), dsn)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := start; ; i++ {
		inv := killInventory(i)
		fmt.Println("saving", i)
		si, err := s.Save(context.Background(), inv)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("saved", i, si.ID)
	}
}

// TestKillDuringSave kills (SIGKILL) a process in the middle of storing a
// scan (20-220 ms into a save that takes longer), three times, and checks that the store opens cleanly, every scan
// reported stored is there and intact, and nothing half-stored is visible.
func TestKillDuringSave(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes; skipped with -short")
	}
	backends(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn) // migrated before the first child starts
		s.Close()
		saved := map[int64]int{} // scan id -> iteration
		var killedIn []int       // the iteration each kill interrupted
		next := 0
		r := rand.New(rand.NewPCG(1, 2))
		for round := range 3 {
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$")
			cmd.Env = append(os.Environ(), killHelperEnv+"="+dsn, "VMSTOR_KILL_HELPER_START="+strconv.Itoa(next))
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			sc := bufio.NewScanner(out)
			nsaved := 0
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				switch {
				case len(f) == 3 && f[0] == "saved":
					i, _ := strconv.Atoi(f[1])
					id, _ := strconv.ParseInt(f[2], 10, 64)
					saved[id] = i
					next = i + 1
					nsaved++
				case len(f) == 2 && f[0] == "saving" && nsaved >= 1:
					i, _ := strconv.Atoi(f[1])
					killedIn = append(killedIn, i)
					// Somewhere inside the transaction (a save takes
					// hundreds of milliseconds here).
					time.Sleep(time.Duration(20+r.IntN(200)) * time.Millisecond)
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				case len(f) > 0 && f[0] == "error":
					t.Fatalf("helper: %s", sc.Text())
				}
				if killed {
					break
				}
			}
			cmd.Wait()
			if !killed {
				t.Fatalf("round %d: the helper stopped by itself", round)
			}
			next++ // the killed save's inventory may or may not have landed
		}

		// Reopen: migrations see a current schema, the file is sound.
		s = openT(t, dsn)
		if s.dialect == dialectSQLite {
			var res string
			if err := s.db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
				t.Fatalf("integrity_check = %q, %v", res, err)
			}
		}
		scans, err := s.Scans(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]ScanInfo{}
		for _, si := range scans {
			byID[si.ID] = si
		}
		for id, i := range saved {
			si, ok := byID[id]
			if !ok {
				t.Errorf("scan %d (iteration %d) was reported stored and is gone", id, i)
				continue
			}
			if !si.Time.Equal(killInventory(i).ScannedAt) {
				t.Errorf("scan %d has time %v, want iteration %d's", id, si.Time, i)
			}
		}
		// Scans that landed without being reported (killed between the
		// commit and the print) must be whole too.
		if extra := len(scans) - len(saved); extra < 0 || extra > 3 {
			t.Errorf("%d scans stored, %d reported: at most one unreported per kill", len(scans), len(saved))
		}
		landed := map[int64]bool{}
		for _, si := range scans {
			landed[si.Time.UnixNano()] = true
		}
		for _, i := range killedIn {
			t.Logf("killed while storing iteration %d: committed before the kill: %v", i, landed[killInventory(i).ScannedAt.UnixNano()])
		}
		// The latest state and an earlier one are exactly what was saved.
		for _, si := range []ScanInfo{scans[0], scans[len(scans)/2]} {
			i := int(si.Time.Sub(t0) / time.Minute)
			got, err := s.Get(context.Background(), si.ID)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := jsonOf(t, killInventory(i)), jsonOf(t, got); a != b {
				t.Errorf("scan %d differs from iteration %d as saved", si.ID, i)
			}
		}
		// And the store still takes scans.
		save(t, s, small())
	})
}

func jsonOf(t testing.TB, inv *model.Inventory) string {
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
