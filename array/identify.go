// Package array names the storage system behind each LUN: from the LUN's own
// id (NAA OUI and vendor serial layouts), its INQUIRY strings, the transport
// its paths run over, vendor VPD pages with public layouts, and optionally the
// arrays' REST APIs. Every fact it sets is recorded in LUN.FactSources.
package array

import (
	"encoding/hex"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// Fact sources, the values of LUN.FactSources. Ranked: a fact from a better
// source replaces one from a worse source; equal or worse ones never do.
const (
	SourceTransport = "transport" // iSCSI/FC/NVMe-oF target names and addresses of the paths
	SourceInquiry   = "inquiry"   // INQUIRY vendor/product or NVMe identify model strings
	SourceID        = "id"        // decoded from the LUN id (NAA OUI, serial inside the id)
	SourceVPD       = "vpd"       // vendor VPD page or NVMe vendor log page read from the device
	SourceAPI       = "api"       // the array's management API (ONTAP REST, Pure REST)
	// SourceGroup marks a system fact copied by GroupSystems from another
	// LUN of the same storage system. It outranks what one LUN's id,
	// strings and paths say (so the system id is the same on all members
	// and Identify does not undo it) but not a device page or the API.
	SourceGroup = "group"
)

func rank(src string) int {
	switch src {
	case SourceTransport:
		return 1
	case SourceInquiry:
		return 2
	case SourceID:
		return 3
	case SourceGroup:
		return 4
	case SourceVPD:
		return 5
	case SourceAPI:
		return 6
	}
	return 0
}

// Fact keys in LUN.FactSources.
const (
	FactVendor     = "array.vendor"
	FactFamily     = "array.family"
	FactModel      = "array.model"
	FactLUNSerial  = "array.lun_serial"
	FactSystemID   = "array.system_id"
	FactSystemName = "array.system_name"
	FactAddresses  = "array.addresses"
	FactVolume     = "volume"
	FactLUNPath    = "lun_path"
	FactUsedBytes  = "used_bytes"
	FactSizeBytes  = "size_bytes"
)

// Families.
const (
	FamilyONTAP      = "ONTAP"
	FamilyONTAP7     = "ONTAP 7-Mode"
	FamilyESeries    = "E-Series"
	FamilyFlashArray = "FlashArray"
)

// ouiEntry maps the leading hex digits of an NAA id to a vendor and family.
type ouiEntry struct {
	prefix string // lowercase hex, NAA type digit included
	vendor string
	family string
}

// naaTable is ordered longest prefix first within each vendor so the first
// match is the most specific one.
var naaTable = []ouiEntry{
	{"600a0980", "NetApp", FamilyONTAP},  // OUI 00a098, ONTAP (cluster mode)
	{"60a98000", "NetApp", FamilyONTAP7}, // OUI 0a9800, Data ONTAP 7-Mode
	{"60080e5", "NetApp", FamilyESeries}, // OUI 0080e5 (LSI/Engenio), E-Series/EF
	{"624a9370", "Pure Storage", FamilyFlashArray},
	{"6000097", "Dell EMC", "PowerMax/VMAX"}, // OUI 000097 (Symmetrix)
	{"6006048", "Dell EMC", "PowerMax/VMAX"}, // OUI 006048
	{"6006016", "Dell EMC", "Unity/VNX"},     // OUI 006016 (CLARiiON)
	{"68ccf098", "Dell EMC", "PowerStore"},   // OUI 8ccf09
	{"60002ac", "HPE", "3PAR/Primera"},       // OUI 0002ac
	{"6005076", "IBM", ""},                   // OUI 005076 (SVC/FlashSystem, DS8000)
	{"60060e8", "Hitachi", ""},               // OUI 0060e8 (VSP)
	{"6742b0f", "Infinidat", "InfiniBox"},    // OUI 742b0f
}

// ouiTable names vendors by IEEE OUI, for EUI-64 and NGUID ids (NVMe) and NAA
// type 5 ids.
var ouiTable = map[string][2]string{
	"00a098": {"NetApp", FamilyONTAP},
	"0a9800": {"NetApp", FamilyONTAP7},
	"0080e5": {"NetApp", FamilyESeries},
	"24a937": {"Pure Storage", FamilyFlashArray},
	"000097": {"Dell EMC", "PowerMax/VMAX"},
	"006048": {"Dell EMC", "PowerMax/VMAX"},
	"006016": {"Dell EMC", "Unity/VNX"},
	"8ccf09": {"Dell EMC", "PowerStore"},
	"0002ac": {"HPE", "3PAR/Primera"},
	"005076": {"IBM", ""},
	"0060e8": {"Hitachi", ""},
	"742b0f": {"Infinidat", "InfiniBox"},
}

// productEntry maps INQUIRY vendor/product (or NVMe model) strings.
type productEntry struct {
	vendor, product string // prefixes, upper case; "" matches anything
	avendor, family string
}

var productTable = []productEntry{
	{"NETAPP", "LUN C-MODE", "NetApp", FamilyONTAP},
	{"NETAPP", "INF-", "NetApp", FamilyESeries},
	{"LSI", "INF-", "NetApp", FamilyESeries},
	{"NETAPP", "LUN", "NetApp", FamilyONTAP}, // 7-Mode and older ONTAP say just "LUN"
	{"NETAPP ONTAP", "", "NetApp", FamilyONTAP},
	{"NETAPP E-SERIES", "", "NetApp", FamilyESeries},
	{"NETAPP", "", "NetApp", ""},
	{"PURE", "", "Pure Storage", FamilyFlashArray},
	{"EMC", "SYMMETRIX", "Dell EMC", "PowerMax/VMAX"},
	{"DGC", "", "Dell EMC", "Unity/VNX"},
	{"DELLEMC", "POWERSTORE", "Dell EMC", "PowerStore"},
	{"DELL", "POWERSTORE", "Dell EMC", "PowerStore"},
	{"3PARDATA", "", "HPE", "3PAR/Primera"},
	{"IBM", "", "IBM", ""},
	{"HITACHI", "", "Hitachi", ""},
	{"NFINIDAT", "", "Infinidat", "InfiniBox"},
}

// Identify fills l.Array (and Volume etc. when a vendor page says) from what
// the host already read: the id, the INQUIRY strings, the paths and any
// vendor VPD pages in l.VendorVPD. It is pure and cheap, and it never clears
// or downgrades a fact set by a better source (or by anyone who did not say
// where the fact came from).
func Identify(l *model.LUN) {
	vendor, family := fromProduct(l.Vendor, l.Product)
	d := decodeID(l.ID)
	if d.vendor != "" {
		setArray(l, FactVendor, d.vendor, SourceID)
		setArray(l, FactFamily, d.family, SourceID)
		setArray(l, FactLUNSerial, d.serial, SourceID)
		setArray(l, FactSystemID, d.systemID, SourceID)
	}
	if vendor != "" && (d.vendor == "" || d.vendor == vendor) {
		setArray(l, FactVendor, vendor, SourceInquiry)
		setArray(l, FactFamily, family, SourceInquiry)
	}
	if l.Array != nil && l.Array.Vendor == "NetApp" && l.Array.Family == FamilyONTAP &&
		l.Array.LUNSerial == "" && l.Protocol != "nvme" && validONTAPSerial(l.Serial) {
		// ONTAP reports the LUN serial as the VPD 0x80 unit serial too;
		// it is what the ONTAP API is queried by.
		setArray(l, FactLUNSerial, l.Serial, SourceInquiry)
	}
	identifyTransport(l)
	for page, b := range l.VendorVPD {
		decodeVendorPage(l, page, b)
	}
}

// VendorPages returns the vendor VPD pages worth reading for a device with
// these INQUIRY strings: only pages whose layout is public, and only for the
// vendor that defines them (another vendor's page 0xC0 means something else).
func VendorPages(vendor, product string) []uint8 {
	v := strings.ToUpper(strings.TrimSpace(vendor))
	p := strings.ToUpper(strings.TrimSpace(product))
	switch {
	case v == "3PARDATA":
		return []uint8{0xc0}
	case v == "DGC":
		return []uint8{0xc0}
	case (v == "NETAPP" || v == "LSI") && strings.HasPrefix(p, "INF-"):
		return []uint8{0xc8}
	}
	return nil
}

func fromProduct(vendor, product string) (string, string) {
	v := strings.ToUpper(strings.TrimSpace(vendor))
	p := strings.ToUpper(strings.TrimSpace(product))
	if v == "" && p == "" {
		return "", ""
	}
	// NVMe has no vendor string: the model carries it ("NetApp ONTAP
	// Controller", "Pure Storage FlashArray").
	if v == "" {
		v, p = p, ""
	}
	for _, e := range productTable {
		if strings.HasPrefix(v, e.vendor) && strings.HasPrefix(p, e.product) {
			return e.avendor, e.family
		}
	}
	return "", ""
}

// idFacts is what an id says about its array.
type idFacts struct {
	vendor, family string
	serial         string // the LUN's serial on the array
	systemID       string // an id of the array, when the id carries one
}

// decodeID decodes an "naa.", "eui." or bare hex id.
func decodeID(id string) idFacts {
	id = strings.ToLower(strings.TrimSpace(id))
	switch {
	case strings.HasPrefix(id, "naa."):
		return decodeNAA(id[4:])
	case strings.HasPrefix(id, "eui."):
		return decodeEUI(id[4:])
	case strings.HasPrefix(id, "3") && len(id) == 33 && isHex(id):
		return decodeNAA(id[1:]) // multipath wwid form
	}
	return idFacts{}
}

func decodeNAA(h string) idFacts {
	if !isHex(h) || len(h) < 8 {
		return idFacts{}
	}
	var f idFacts
	switch h[0] {
	case '6':
		for _, e := range naaTable {
			if strings.HasPrefix(h, e.prefix) {
				f.vendor, f.family = e.vendor, e.family
				break
			}
		}
	case '5':
		if v, ok := ouiTable[h[1:7]]; ok {
			f.vendor, f.family = v[0], v[1]
		}
	}
	if f.vendor == "" || len(h) != 32 {
		// An 8-byte id (e.g. QEMU's wwn) names the vendor but is too
		// short to hold the vendor's serial layout.
		return f
	}
	switch f.family {
	case FamilyONTAP, FamilyONTAP7:
		// 8 hex digits of prefix, then the 12-character ASCII serial.
		if s, ok := asciiHex(h[8:]); ok && validONTAPSerial(s) {
			f.serial = s
		}
	case FamilyFlashArray:
		// 624a9370 + 24 hex digits of volume serial; the first 16 are the
		// same for every volume of one array, the last 8 count volumes.
		f.serial = strings.ToUpper(h[8:])
		f.systemID = "pure:" + strings.ToUpper(h[8:24])
	case "PowerMax/VMAX":
		// 6000097 0 + 12 decimal digits of Symmetrix serial + device.
		if strings.HasPrefix(h, "60000970") && isDigits(h[8:20]) {
			f.systemID = "symmetrix:" + h[8:20]
			if s, ok := asciiHex(h[20:]); ok {
				f.serial = strings.TrimLeft(s, " ")
			}
		}
	}
	return f
}

// decodeEUI decodes an EUI-64 (16 hex) or an NGUID (32 hex): the NGUID holds
// the IEEE OUI in bytes 8..10, after an 8-byte vendor extension.
func decodeEUI(h string) idFacts {
	if !isHex(h) {
		return idFacts{}
	}
	var oui string
	switch len(h) {
	case 16:
		oui = h[:6]
	case 32:
		oui = h[16:22]
	default:
		return idFacts{}
	}
	v, ok := ouiTable[oui]
	if !ok {
		return idFacts{}
	}
	f := idFacts{vendor: v[0], family: v[1]}
	if oui == "24a937" && len(h) == 32 && h[:2] == "00" {
		// Pure NVMe NGUID: 00 + serial[0:14] + 24a937 + serial[14:24].
		s := strings.ToUpper(h[2:16] + h[22:32])
		f.serial = s
		f.systemID = "pure:" + s[:16]
	}
	return f
}

// validONTAPSerial reports whether s looks like an ONTAP LUN serial: 12
// printable characters, which may include + / ? $ and the like.
func validONTAPSerial(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func asciiHex(h string) (string, bool) {
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", false
	}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return "", false
		}
	}
	return string(b), true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// canSet reports whether a fact from src may replace the current one: when
// the field is empty, or when it was set here by a worse source.
func canSet(l *model.LUN, key string, empty bool, src string) bool {
	if empty {
		return true
	}
	cur, ok := l.FactSources[key]
	if !ok {
		return false // set by someone who did not say where from: keep it
	}
	return rank(src) > rank(cur)
}

func record(l *model.LUN, key, src string) {
	if l.FactSources == nil {
		l.FactSources = make(map[string]string)
	}
	l.FactSources[key] = src
}

// setArray sets one string field of l.Array.
func setArray(l *model.LUN, key, val, src string) {
	if val == "" {
		return
	}
	if l.Array == nil {
		l.Array = &model.Array{}
	}
	var p *string
	switch key {
	case FactVendor:
		p = &l.Array.Vendor
	case FactFamily:
		p = &l.Array.Family
	case FactModel:
		p = &l.Array.Model
	case FactLUNSerial:
		p = &l.Array.LUNSerial
	case FactSystemID:
		p = &l.Array.SystemID
	case FactSystemName:
		p = &l.Array.SystemName
	default:
		panic("array: unknown array fact " + key)
	}
	if *p == val {
		if _, ok := l.FactSources[key]; ok && rank(src) > rank(l.FactSources[key]) {
			record(l, key, src) // a better source confirms it
		}
		return
	}
	if !canSet(l, key, *p == "", src) {
		return
	}
	*p = val
	record(l, key, src)
}

// setAddresses adds addresses; addresses from a better source replace those
// from a worse one.
func setAddresses(l *model.LUN, addrs []string, src string) {
	if len(addrs) == 0 {
		return
	}
	if l.Array == nil {
		l.Array = &model.Array{}
	}
	cur, ok := l.FactSources[FactAddresses]
	switch {
	case len(l.Array.Addresses) == 0:
	case !ok:
		return
	case rank(src) > rank(cur):
		l.Array.Addresses = nil
	case rank(src) < rank(cur):
		return
	}
	for _, a := range addrs {
		l.Array.Addresses = model.AppendNew(l.Array.Addresses, a)
	}
	record(l, FactAddresses, src)
}

// setLUNString sets Volume or LUNPath.
func setLUNString(l *model.LUN, key, val, src string) {
	if val == "" {
		return
	}
	var p *string
	switch key {
	case FactVolume:
		p = &l.Volume
	case FactLUNPath:
		p = &l.LUNPath
	default:
		panic("array: unknown LUN fact " + key)
	}
	if *p == val || !canSet(l, key, *p == "", src) {
		return
	}
	*p = val
	record(l, key, src)
}
