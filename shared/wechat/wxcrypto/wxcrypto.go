// Package wxcrypto implements WeChat's message encryption scheme
// (WXBizMsgCrypt): the signature checks on pushed requests, the AES-256-CBC
// envelope around every message, and the encrypted passive-reply document.
//
// A plaintext is random(16) | length(4, big-endian) | message | appid, padded
// with PKCS#7 to a multiple of 32 bytes, encrypted with AES-256-CBC under the
// key decoded from the 43-character EncodingAESKey (the IV is the key's first
// 16 bytes) and sent as standard base64. msg_signature is the lowercase hex
// SHA-1 of the sorted concatenation of token, timestamp, nonce and the base64
// ciphertext; the URL's plain signature covers the first three only.
//
// The message path is written to allocate little: verifying a signature
// allocates nothing, Decrypt allocates only the buffer it decodes into and
// decrypts in place, and SealReply builds the whole envelope in one buffer.
package wxcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Sentinel errors, matched with errors.Is. Returned errors wrap them with
// context.
var (
	ErrSignature = errors.New("signature mismatch")
	ErrAESKey    = errors.New("invalid EncodingAESKey")
	ErrBase64    = errors.New("invalid base64")
	ErrBlockSize = errors.New("ciphertext is not a non-empty multiple of the AES block size")
	ErrPadding   = errors.New("invalid PKCS#7 padding")
	ErrLength    = errors.New("invalid message length")
	ErrAppID     = errors.New("appid mismatch")
)

const (
	// EncodingAESKeyLen is the length of an EncodingAESKey: 32 bytes in
	// base64 without the trailing "=".
	EncodingAESKeyLen = 43
	keyLen            = 32
	// padBlock is the PKCS#7 block size WeChat pads to, twice AES's.
	padBlock  = 32
	randomLen = 16
	headerLen = randomLen + 4
	// sigLen is the length of a hex SHA-1 signature.
	sigLen = 2 * sha1.Size
)

// DecodeAESKey decodes a 43-character EncodingAESKey into the 32-byte AES key.
// Any other length, or a character outside the standard base64 alphabet, is
// ErrAESKey.
func DecodeAESKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != EncodingAESKeyLen {
		return nil, fmt.Errorf("wxcrypto: EncodingAESKey has %d characters, want %d: %w", len(encodingAESKey), EncodingAESKeyLen, ErrAESKey)
	}
	for i := 0; i < len(encodingAESKey); i++ {
		if !isBase64Char(encodingAESKey[i]) {
			return nil, fmt.Errorf("wxcrypto: EncodingAESKey has a non-base64 character at %d: %w", i, ErrAESKey)
		}
	}
	// Not StdEncoding.Strict: WeChat draws the 43 characters at random, so the
	// two bits the last one carries past the key are often non-zero.
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != keyLen {
		return nil, fmt.Errorf("wxcrypto: EncodingAESKey does not decode to %d bytes: %w", keyLen, ErrAESKey)
	}
	return key, nil
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// Signature returns the URL signature: the lowercase hex SHA-1 of token,
// timestamp and nonce, sorted and concatenated.
func Signature(token, timestamp, nonce string) string {
	var sig [sigLen]byte
	parts := [...]string{token, timestamp, nonce}
	sortedSHA1(&sig, parts[:])
	return string(sig[:])
}

// MsgSignature returns msg_signature: the lowercase hex SHA-1 of token,
// timestamp, nonce and the base64 ciphertext, sorted and concatenated.
func MsgSignature(token, timestamp, nonce, encrypt string) string {
	var sig [sigLen]byte
	parts := [...]string{token, timestamp, nonce, encrypt}
	sortedSHA1(&sig, parts[:])
	return string(sig[:])
}

// sortedSHA1 sorts parts in place and writes the hex SHA-1 of their
// concatenation to dst. It takes strings or byte slices so that SealReply can
// sign the ciphertext where it was encoded, and it copies through a stack
// buffer so that neither kind is converted (and allocated) for the hash.
func sortedSHA1[T ~string | ~[]byte](dst *[sigLen]byte, parts []T) {
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && string(parts[j]) < string(parts[j-1]); j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	h := sha1.New()
	var chunk [512]byte
	for _, p := range parts {
		for len(p) > 0 {
			n := copy(chunk[:], p)
			h.Write(chunk[:n])
			p = p[n:]
		}
	}
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	hex.Encode(dst[:], sum[:])
}

// equalSignature compares a computed signature with a received one in
// constant time. The length is public, so a wrong length returns early.
func equalSignature(want *[sigLen]byte, got string) bool {
	if len(got) != sigLen {
		return false
	}
	var g [sigLen]byte
	copy(g[:], got)
	return subtle.ConstantTimeCompare(want[:], g[:]) == 1
}

// Crypter signs, verifies, encrypts and decrypts messages for one
// component (or account): its token, EncodingAESKey and appid. It is safe for
// concurrent use.
type Crypter struct {
	token string
	appID string
	block cipher.Block
	iv    [aes.BlockSize]byte
}

// New returns a Crypter for the given token, EncodingAESKey and appid. The
// appid is the one WeChat appends to every plaintext: the component_appid for
// a third-party platform.
func New(token, encodingAESKey, appID string) (*Crypter, error) {
	if token == "" {
		return nil, errors.New("wxcrypto: empty token")
	}
	if appID == "" {
		return nil, errors.New("wxcrypto: empty appid")
	}
	key, err := DecodeAESKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wxcrypto: %w", err)
	}
	c := &Crypter{token: token, appID: appID, block: block}
	copy(c.iv[:], key)
	return c, nil
}

// AppID returns the appid the Crypter expects at the end of every plaintext.
func (c *Crypter) AppID() string { return c.appID }

// Token returns the token the Crypter signs with.
func (c *Crypter) Token() string { return c.token }

// VerifySignature checks the URL's signature parameter in constant time; a
// mismatch is ErrSignature.
func (c *Crypter) VerifySignature(signature, timestamp, nonce string) error {
	var want [sigLen]byte
	parts := [...]string{c.token, timestamp, nonce}
	sortedSHA1(&want, parts[:])
	if !equalSignature(&want, signature) {
		return fmt.Errorf("wxcrypto: signature: %w", ErrSignature)
	}
	return nil
}

// VerifyMsgSignature checks msg_signature over the base64 ciphertext in
// constant time; a mismatch is ErrSignature.
func (c *Crypter) VerifyMsgSignature(msgSignature, timestamp, nonce, encrypt string) error {
	if !c.msgSignatureOK(msgSignature, timestamp, nonce, encrypt) {
		return fmt.Errorf("wxcrypto: msg_signature: %w", ErrSignature)
	}
	return nil
}

func (c *Crypter) msgSignatureOK(msgSignature, timestamp, nonce, encrypt string) bool {
	var want [sigLen]byte
	parts := [...]string{c.token, timestamp, nonce, encrypt}
	sortedSHA1(&want, parts[:])
	return equalSignature(&want, msgSignature)
}

// Decrypt decodes and decrypts a base64 ciphertext (an Encrypt element) and
// returns the message. It checks, in order: base64 (ErrBase64), the
// ciphertext length (ErrBlockSize), the padding (ErrPadding), the length field
// (ErrLength) and the appid after the message (ErrAppID). The returned slice
// is the caller's.
//
// Decrypt does not authenticate: verify msg_signature first.
func (c *Crypter) Decrypt(encrypt string) ([]byte, error) {
	msg, err := c.decrypt(encrypt)
	if err != nil {
		return nil, fmt.Errorf("wxcrypto: decrypt: %w", err)
	}
	return msg, nil
}

func (c *Crypter) decrypt(encrypt string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBase64, err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%d bytes: %w", len(buf), ErrBlockSize)
	}
	c.cbcDecrypt(buf)

	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > padBlock || pad > len(buf) {
		return nil, fmt.Errorf("pad value %d: %w", pad, ErrPadding)
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("pad bytes differ from pad value %d: %w", pad, ErrPadding)
		}
	}
	plain := buf[:len(buf)-pad]
	if len(plain) < headerLen {
		return nil, fmt.Errorf("%d-byte plaintext is shorter than its %d-byte header: %w", len(plain), headerLen, ErrLength)
	}
	n := binary.BigEndian.Uint32(plain[randomLen:headerLen])
	if uint64(n) > uint64(len(plain)-headerLen) {
		return nil, fmt.Errorf("length field %d exceeds the %d bytes left: %w", n, len(plain)-headerLen, ErrLength)
	}
	msg := plain[headerLen : headerLen+int(n)]
	if appID := plain[headerLen+int(n):]; string(appID) != c.appID {
		return nil, fmt.Errorf("plaintext appid %q, want %q: %w", appID, c.appID, ErrAppID)
	}
	return msg, nil
}

// Encrypt encrypts msg with 16 random bytes from crypto/rand and returns the
// base64 ciphertext. Only a message too long for the 4-byte length field is
// an error.
func (c *Crypter) Encrypt(msg []byte) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", fmt.Errorf("wxcrypto: encrypt: %d-byte message: %w", len(msg), ErrLength)
	}
	return c.EncryptWithRandom(randomPrefix(), msg), nil
}

// EncryptWithRandom is Encrypt with a caller-chosen random prefix, so the
// output is deterministic (for test vectors). It panics if msg is longer than
// the 4-byte length field can express.
func (c *Crypter) EncryptWithRandom(random [16]byte, msg []byte) string {
	ctLen := c.sealedLen(len(msg))
	b64Len := base64.StdEncoding.EncodedLen(ctLen)
	buf := make([]byte, ctLen+b64Len)
	ct := buf[:ctLen]
	c.seal(ct, random, msg)
	out := buf[ctLen:]
	base64.StdEncoding.Encode(out, ct)
	return string(out)
}

func randomPrefix() [16]byte {
	var r [16]byte
	// crypto/rand.Read never fails: it crashes the program instead.
	_, _ = rand.Read(r[:])
	return r
}

// sealedLen returns the ciphertext length for a msgLen-byte message.
func (c *Crypter) sealedLen(msgLen int) int {
	if uint64(msgLen) > math.MaxUint32 {
		panic("wxcrypto: message longer than 4 GiB")
	}
	n := headerLen + msgLen + len(c.appID)
	return n + padBlock - n%padBlock
}

// seal writes the padded plaintext for msg into dst, which is
// sealedLen(len(msg)) bytes long, and encrypts it in place.
func (c *Crypter) seal(dst []byte, random [16]byte, msg []byte) {
	copy(dst, random[:])
	binary.BigEndian.PutUint32(dst[randomLen:], uint32(len(msg)))
	n := headerLen + copy(dst[headerLen:], msg)
	n += copy(dst[n:], c.appID)
	pad := byte(len(dst) - n)
	for i := n; i < len(dst); i++ {
		dst[i] = pad
	}
	c.cbcEncrypt(dst)
}

// cbcEncrypt and cbcDecrypt are AES-CBC in place over whole blocks, as
// crypto/cipher's CBC modes compute it, without the copy of the key schedule
// that cipher.NewCBCEncrypter and NewCBCDecrypter allocate for every message.
func (c *Crypter) cbcEncrypt(buf []byte) {
	prev := c.iv[:]
	for start := 0; start < len(buf); start += aes.BlockSize {
		blk := buf[start : start+aes.BlockSize]
		subtle.XORBytes(blk, blk, prev)
		c.block.Encrypt(blk, blk)
		prev = blk
	}
}

// cbcDecrypt walks backwards, so that the ciphertext block each block is
// chained to has not yet been decrypted over.
func (c *Crypter) cbcDecrypt(buf []byte) {
	for end := len(buf); end > 0; end -= aes.BlockSize {
		start := end - aes.BlockSize
		blk := buf[start:end]
		c.block.Decrypt(blk, blk)
		prev := c.iv[:]
		if start > 0 {
			prev = buf[start-aes.BlockSize : start]
		}
		subtle.XORBytes(blk, blk, prev)
	}
}

// The passive-reply envelope, around the ciphertext, signature, timestamp and
// nonce.
const (
	replyOpen      = "<xml><Encrypt><![CDATA["
	replySignature = "]]></Encrypt><MsgSignature><![CDATA["
	replyTimestamp = "]]></MsgSignature><TimeStamp>"
	replyNonce     = "</TimeStamp><Nonce><![CDATA["
	replyClose     = "]]></Nonce></xml>"
)

// SealReply encrypts msg (a reply document) and returns WeChat's passive-reply
// envelope:
//
//	<xml><Encrypt><![CDATA[…]]></Encrypt><MsgSignature><![CDATA[…]]></MsgSignature><TimeStamp>…</TimeStamp><Nonce><![CDATA[…]]></Nonce></xml>
//
// timestamp must be decimal digits and nonce letters, digits, '-' or '_', as
// WeChat sends them, so that they need no escaping.
func (c *Crypter) SealReply(msg []byte, timestamp, nonce string) ([]byte, error) {
	if !isTimestamp(timestamp) {
		return nil, fmt.Errorf("wxcrypto: seal reply: timestamp %q is not a decimal number", timestamp)
	}
	if !isNonce(nonce) {
		return nil, fmt.Errorf("wxcrypto: seal reply: nonce %q has characters other than letters, digits, '-' and '_'", nonce)
	}
	if uint64(len(msg)) > math.MaxUint32 {
		return nil, fmt.Errorf("wxcrypto: seal reply: %d-byte message: %w", len(msg), ErrLength)
	}
	ctLen := c.sealedLen(len(msg))
	b64Len := base64.StdEncoding.EncodedLen(ctLen)
	envLen := len(replyOpen) + b64Len + len(replySignature) + sigLen + len(replyTimestamp) +
		len(timestamp) + len(replyNonce) + len(nonce) + len(replyClose)

	// One allocation: the envelope, with the ciphertext encrypted in the
	// spare capacity behind it before it is base64-encoded into place.
	buf := make([]byte, envLen+ctLen)
	ct := buf[envLen:]
	c.seal(ct, randomPrefix(), msg)

	n := copy(buf, replyOpen)
	encrypt := buf[n : n+b64Len]
	base64.StdEncoding.Encode(encrypt, ct)
	n += b64Len
	n += copy(buf[n:], replySignature)
	var sig [sigLen]byte
	parts := [...][]byte{[]byte(c.token), []byte(timestamp), []byte(nonce), encrypt}
	sortedSHA1(&sig, parts[:])
	n += copy(buf[n:], sig[:])
	n += copy(buf[n:], replyTimestamp)
	n += copy(buf[n:], timestamp)
	n += copy(buf[n:], replyNonce)
	n += copy(buf[n:], nonce)
	copy(buf[n:], replyClose)
	return buf[:envLen:envLen], nil
}

func isTimestamp(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isNonce(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// OpenReply reads a passive-reply envelope as SealReply writes it (and as
// WeChat expects it), verifies its MsgSignature against its TimeStamp and
// Nonce, and returns the decrypted reply. The simulator uses it to read what
// the platform answered.
func (c *Crypter) OpenReply(envelope []byte) ([]byte, error) {
	f, err := wxxml.Parse(envelope)
	if err != nil {
		return nil, fmt.Errorf("wxcrypto: open reply: %w", err)
	}
	encrypt := f.Get("Encrypt")
	if encrypt == "" {
		return nil, errors.New("wxcrypto: open reply: no Encrypt element")
	}
	if !c.msgSignatureOK(f.Get("MsgSignature"), f.Get("TimeStamp"), f.Get("Nonce"), encrypt) {
		return nil, fmt.Errorf("wxcrypto: open reply: MsgSignature: %w", ErrSignature)
	}
	msg, err := c.decrypt(encrypt)
	if err != nil {
		return nil, fmt.Errorf("wxcrypto: open reply: decrypt: %w", err)
	}
	return msg, nil
}
