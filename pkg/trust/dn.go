package trust

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// shortNames maps attribute OIDs to the names OpenSSL prints in its one-line
// form (OBJ_nid2sn). The spelling was checked against openssl 3.0 output; an
// OID missing here prints as dotted numbers, as OpenSSL does for unknown ones.
var shortNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.13":                   "description",
	"2.5.4.14":                   "searchGuide",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.16":                   "postalAddress",
	"2.5.4.17":                   "postalCode",
	"2.5.4.18":                   "postOfficeBox",
	"2.5.4.19":                   "physicalDeliveryOfficeName",
	"2.5.4.20":                   "telephoneNumber",
	"2.5.4.26":                   "registeredAddress",
	"2.5.4.27":                   "destinationIndicator",
	"2.5.4.28":                   "preferredDeliveryMethod",
	"2.5.4.41":                   "name",
	"2.5.4.42":                   "GN",
	"2.5.4.43":                   "initials",
	"2.5.4.44":                   "generationQualifier",
	"2.5.4.45":                   "x500UniqueIdentifier",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.47":                   "enhancedSearchGuide",
	"2.5.4.50":                   "uniqueMember",
	"2.5.4.51":                   "houseIdentifier",
	"2.5.4.53":                   "deltaRevocationList",
	"2.5.4.54":                   "dmdName",
	"2.5.4.65":                   "pseudonym",
	"2.5.4.72":                   "role",
	"2.5.4.97":                   "organizationIdentifier",
	"2.5.4.98":                   "c3",
	"2.5.4.99":                   "n3",
	"2.5.4.100":                  "dnsName",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"1.2.840.113549.1.9.2":       "unstructuredName",
	"1.2.840.113549.1.9.8":       "unstructuredAddress",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.2":  "textEncodedORAddress",
	"0.9.2342.19200300.100.1.3":  "mail",
	"0.9.2342.19200300.100.1.5":  "favouriteDrink",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.37": "associatedDomain",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionC",
}

// ShortName returns OpenSSL's short name for an attribute type, or its dotted form.
func ShortName(oid asn1.ObjectIdentifier) string {
	s := oid.String()
	if n, ok := shortNames[s]; ok {
		return n
	}
	return s
}

// tagGeneralString is the one string type OpenSSL's X509_NAME_oneline treats
// specially (see appendValue).
const tagGeneralString = 27

type attributeTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// OneLine renders a DER-encoded Name (cert.RawSubject / RawIssuer) in
// OpenSSL's one-line slash form, byte for byte what X509_NAME_oneline (and so
// `openssl x509 -subject -nameopt compat`, M2Crypto and PHP) produce.
func OneLine(rawName []byte) (string, error) {
	var rdns []asn1.RawValue
	rest, err := asn1.Unmarshal(rawName, &rdns)
	if err != nil {
		return "", fmt.Errorf("parse distinguished name: %w", err)
	}
	if len(rest) > 0 {
		return "", errors.New("parse distinguished name: trailing data")
	}
	var b strings.Builder
	for _, rdn := range rdns {
		if rdn.Class != asn1.ClassUniversal || rdn.Tag != asn1.TagSet || !rdn.IsCompound {
			return "", errors.New("parse distinguished name: RDN is not a SET")
		}
		members := rdn.Bytes
		if len(members) == 0 {
			return "", errors.New("parse distinguished name: empty RDN")
		}
		for i := 0; len(members) > 0; i++ {
			var atv attributeTypeAndValue
			members, err = asn1.Unmarshal(members, &atv)
			if err != nil {
				return "", fmt.Errorf("parse distinguished name attribute: %w", err)
			}
			value := atv.Value.Bytes
			if atv.Value.IsCompound {
				// OpenSSL keeps a structured value's whole encoding.
				value = atv.Value.FullBytes
			}
			appendAttribute(&b, i > 0, atv.Type, value, atv.Value.Class == asn1.ClassUniversal && atv.Value.Tag == tagGeneralString)
		}
	}
	return b.String(), nil
}

// OneLineRDN renders an already decoded name in the same form as OneLine.
// Decoding loses the string type, so values that were BMPString or
// UniversalString render as their UTF-8 bytes here; prefer OneLine on raw DER.
func OneLineRDN(seq pkix.RDNSequence) string {
	var b strings.Builder
	for _, rdn := range seq {
		for i, atv := range rdn {
			var value []byte
			switch v := atv.Value.(type) {
			case string:
				value = []byte(v)
			case []byte:
				value = v
			default:
				value = fmt.Append(nil, v)
			}
			appendAttribute(&b, i > 0, atv.Type, value, false)
		}
	}
	return b.String()
}

// appendAttribute writes "/type=value", or "+type=value" for the second and
// later members of a multi-valued RDN.
func appendAttribute(b *strings.Builder, sameRDN bool, oid asn1.ObjectIdentifier, value []byte, generalString bool) {
	if sameRDN {
		b.WriteByte('+')
	} else {
		b.WriteByte('/')
	}
	b.WriteString(ShortName(oid))
	b.WriteByte('=')
	appendValue(b, value, generalString)
}

// appendValue escapes like X509_NAME_oneline: bytes outside printable ASCII as
// \xHH (upper case), '/' and '+' with a backslash, everything else verbatim.
func appendValue(b *strings.Builder, value []byte, generalString bool) {
	const hex = "0123456789ABCDEF"
	// OpenSSL prints a GeneralString whose length is a multiple of four and
	// whose first three bytes of every group are zero as just every fourth
	// byte (a UCS-4 heuristic); mirror it so such names compare equal.
	keep := [4]bool{true, true, true, true}
	if generalString && len(value)%4 == 0 {
		var nonZero [4]bool
		for j, c := range value {
			if c != 0 {
				nonZero[j&3] = true
			}
		}
		if !nonZero[0] && !nonZero[1] && !nonZero[2] {
			keep = [4]bool{false, false, false, true}
		}
	}
	for j, c := range value {
		if !keep[j&3] {
			continue
		}
		switch {
		case c < ' ' || c > '~':
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		case c == '/' || c == '+':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
}
