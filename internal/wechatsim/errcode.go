package wechatsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
)

// WeChat error codes the simulator answers with. The messages are WeChat's
// own (see errmsg), as its API documentation and its answers in the wild
// spell them.
const (
	codeSystemError       = -1
	codeInvalidCredential = 40001
	codeInvalidOpenID     = 40003
	codeInvalidMediaID    = 40007
	codeInvalidMsgType    = 40008
	codeInvalidAppID      = 40013
	codeInvalidURL        = 40066
	codeInvalidArgs       = 40097
	codeInvalidAppSecret  = 40125
	codeTokenMissing      = 41001
	codeAppSecretMissing  = 41004
	codeMissingComponent  = 41018
	codeTokenExpired      = 42001
	codeRequireGET        = 43001
	codeRequirePOST       = 43002
	codeEmptyPostData     = 44002
	codeEmptyContent      = 44004
	codeQuota             = 45009
	codeOutOfTimeLimit    = 45015
	codeDataFormat        = 47001
	codeAPIUnauthorized   = 48001 // the account itself lacks the API

	codeNotAuthorized      = 61003
	codeClientIP           = 61004
	codeUnauthorizedAPI    = 61007
	codeTicketExpired      = 61005
	codeTicketInvalid      = 61006
	codeCodeInvalid        = 61009
	codeCodeExpired        = 61010
	codeInvalidComponent   = 61011
	codeRefreshTokenReject = 61023
	// Acting for merchants.
	codeInvalidGrantType    = 40002
	codeInvalidCode         = 40029
	codeInvalidRefreshToken = 40030
	codeInvalidTemplateID   = 40037
	codeCodeUsed            = 40163
	codeMenuNone            = 46003
	codeClearQuotaLimit     = 48006
)

// errmsg is WeChat's errmsg for code, before the " rid: …" WeChat appends.
func errmsg(code int) string {
	switch code {
	case codeSystemError:
		return "system error"
	case codeInvalidCredential:
		return "invalid credential, access_token is invalid or not latest"
	case codeInvalidOpenID:
		return "invalid openid"
	case codeInvalidMediaID:
		return "invalid media_id"
	case codeInvalidMsgType:
		return "invalid message type"
	case codeInvalidAppID:
		return "invalid appid"
	case codeInvalidURL:
		return "invalid url"
	case codeInvalidArgs:
		return "invalid args"
	case codeInvalidAppSecret:
		return "invalid appsecret"
	case codeTokenMissing:
		return "access_token missing"
	case codeAppSecretMissing:
		return "appsecret missing"
	case codeMissingComponent:
		return "missing component_appid"
	case codeTokenExpired:
		return "access_token expired"
	case codeRequireGET:
		return "require GET method"
	case codeRequirePOST:
		return "require POST method"
	case codeEmptyPostData:
		return "empty post data"
	case codeEmptyContent:
		return "empty content"
	case codeQuota:
		return "reach max api daily quota limit"
	case codeOutOfTimeLimit:
		return "response out of time limit or subscription is canceled"
	case codeDataFormat:
		return "data format error"
	case codeAPIUnauthorized:
		return "api unauthorized"
	case codeNotAuthorized:
		return "component is not authorized by this account"
	case codeClientIP:
		return "access clientip is not registered"
	case codeUnauthorizedAPI:
		return "api is unauthorized to component"
	case codeTicketExpired:
		return "component ticket is expired"
	case codeTicketInvalid:
		return "component ticket is invalid"
	case codeCodeInvalid:
		return "code is invalid"
	case codeCodeExpired:
		return "code is expired"
	case codeInvalidComponent:
		return "invalid component"
	case codeRefreshTokenReject:
		return "refresh_token is invalid"
	case codeInvalidGrantType:
		return "invalid grant_type"
	case codeInvalidCode:
		return "invalid code"
	case codeInvalidRefreshToken:
		return "invalid refresh_token"
	case codeInvalidTemplateID:
		return "invalid template_id"
	case codeCodeUsed:
		return "code been used"
	case codeMenuNone:
		return "menu no exist"
	case codeClearQuotaLimit:
		return "forbid to clear quota because of reaching the limit"
	default:
		return "simulated error"
	}
}

// apiError is an error answer: {"errcode":…,"errmsg":"… rid: …"}.
type apiError struct {
	code int
	msg  string // empty: errmsg(code)
}

func (e *apiError) message() string {
	if e.msg != "" {
		return e.msg
	}
	return errmsg(e.code)
}

func wxErr(code int) *apiError { return &apiError{code: code} }

// contentTypeJSON is the Content-Type of WeChat's JSON answers.
const contentTypeJSON = "application/json; encoding=utf-8"

// writeJSON answers 200 with v as JSON, as WeChat answers errors too.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	_, _ = w.Write(body)
}

// writeError answers with WeChat's error document, the errmsg followed by a
// request id as WeChat writes it.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{e.code, e.message() + " rid: " + newRID()})
}

// writeOK answers {"errcode":0,"errmsg":"ok"}.
func writeOK(w http.ResponseWriter) {
	writeJSON(w, struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{0, "ok"})
}

// writeAnswer writes an API's error document if e is set, else v as JSON (nil:
// errcode 0).
func writeAnswer(w http.ResponseWriter, v any, e *apiError) {
	switch {
	case e != nil:
		writeError(w, e)
	case v == nil:
		writeOK(w)
	default:
		writeJSON(w, v)
	}
}

// newRID returns a request id shaped like WeChat's: 8-8-8 hex digits.
func newRID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:16] + "-" + h[16:]
}
