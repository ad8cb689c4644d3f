package wxcrypto

import (
	"testing"
)

// FuzzDecrypt checks that no input makes Decrypt or the signature checks
// panic, and that whatever Decrypt accepts re-encrypts to a ciphertext that
// decrypts to the same message.
func FuzzDecrypt(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Encrypt)
	}
	f.Add("")
	f.Add("====")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==")
	c := testCrypter(f)
	f.Fuzz(func(t *testing.T, encrypt string) {
		_ = c.VerifyMsgSignature("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", encrypt)
		_ = c.VerifySignature(encrypt, "1409659813", "1372623149")
		msg, err := c.Decrypt(encrypt)
		if err != nil {
			return
		}
		again, err := c.Decrypt(c.EncryptWithRandom([16]byte{1}, msg))
		if err != nil || string(again) != string(msg) {
			t.Fatalf("re-encryption of an accepted message: %q, %v", again, err)
		}
	})
}

// FuzzTamper starts from one valid signed push and lets the fuzzer change its
// ciphertext: the signature check followed by decryption must refuse every
// ciphertext other than the one that was signed.
func FuzzTamper(f *testing.F) {
	c := testCrypter(f)
	const ts, nonce = "1409659813", "1372623149"
	original := c.EncryptWithRandom([16]byte{'r', 'a', 'n', 'd', 'o', 'm'},
		[]byte("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Content><![CDATA[hello]]></Content></xml>"))
	signature := MsgSignature(c.Token(), ts, nonce, original)
	f.Add(original)
	f.Add(original + "\n")
	f.Add(original[:len(original)-4])
	f.Add(original[:22] + "A" + original[23:])
	f.Fuzz(func(t *testing.T, encrypt string) {
		if encrypt == original {
			return
		}
		if err := c.VerifyMsgSignature(signature, ts, nonce, encrypt); err == nil {
			msg, derr := c.Decrypt(encrypt)
			t.Fatalf("a modified ciphertext %q passed the signature check (decrypts to %q, %v)", encrypt, msg, derr)
		}
	})
}
