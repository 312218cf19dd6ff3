# Static checks run before the tests: gofmt, go vet, staticcheck, and the
# Windows build (Hyper-V code is build-tagged and must keep compiling).
if ! command -v staticcheck >/dev/null && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
	GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@v0.7.0
fi
echo "== checks"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...
GOOS=windows go vet ./...
GOOS=windows go build ./...
"$(go env GOPATH)/bin/staticcheck" ./...
# The Windows test binaries of the Windows-specific packages must build too.
for p in ./vms/hyperv ./hoststorage/windows ./scsi ./cmd/vmstor; do
	GOOS=windows go test -c -o /dev/null "$p"
done
