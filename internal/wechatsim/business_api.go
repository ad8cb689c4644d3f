package wechatsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// SentMessage is a custom message a platform sent through
// message/custom/send.
type SentMessage struct {
	Seq        int64
	At         time.Time
	Component  string
	Authorizer string
	ToUser     string
	MsgType    string
	Content    string // text.content of a text message
	MediaID    string // media_id of an image, voice, video or mpnews message
	Body       json.RawMessage
	// TokenFromCode is the authorization code whose api_query_auth issued
	// the access token used, if it was one.
	TokenFromCode string
}

// maxSentPerAccount bounds the custom messages kept per account.
const maxSentPerAccount = 200

type sentLog struct {
	mu        sync.Mutex
	seq       int64
	byAccount map[string][]SentMessage
	notify    chan struct{} // closed and replaced on every message
}

func (l *sentLog) add(m SentMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byAccount == nil {
		l.byAccount = map[string][]SentMessage{}
	}
	l.seq++
	m.Seq = l.seq
	list := append(l.byAccount[m.Authorizer], m)
	if len(list) > maxSentPerAccount {
		list = slices.Delete(list, 0, len(list)-maxSentPerAccount)
	}
	l.byAccount[m.Authorizer] = list
	close(l.notify)
	l.notify = make(chan struct{})
}

// SentMessages returns the custom messages sent on behalf of an account
// (the last 200), oldest first.
func (s *Sim) SentMessages(authorizerAppID string) []SentMessage {
	s.sent.mu.Lock()
	defer s.sent.mu.Unlock()
	return slices.Clone(s.sent.byAccount[authorizerAppID])
}

// WaitSent waits until a custom message on behalf of the account that match
// accepts has been sent (one sent before the call counts) and returns it,
// or ctx's error.
func (s *Sim) WaitSent(ctx context.Context, authorizerAppID string, match func(SentMessage) bool) (SentMessage, error) {
	seen := 0
	for {
		s.sent.mu.Lock()
		list := s.sent.byAccount[authorizerAppID]
		// Messages dropped from the front by the cap shift indexes; rescan
		// from the oldest kept one in that case.
		if seen > len(list) {
			seen = 0
		}
		for _, m := range list[seen:] {
			if match(m) {
				s.sent.mu.Unlock()
				return m, nil
			}
		}
		seen = len(list)
		notify := s.sent.notify
		s.sent.mu.Unlock()
		select {
		case <-notify:
		case <-ctx.Done():
			return SentMessage{}, fmt.Errorf("wait for a custom message to %s: %w", authorizerAppID, ctx.Err())
		case <-s.done:
			return SentMessage{}, fmt.Errorf("wait for a custom message to %s: simulator closed", authorizerAppID)
		}
	}
}

// checkAuthorizerToken validates a business API's access_token: an
// authorizer_access_token. s.mu is held (read).
func (s *Sim) checkAuthorizerToken(r *http.Request) (*token, *account, *apiError) {
	t, e := s.checkToken(r.URL.Query().Get("access_token"), s.now())
	if e != nil {
		return nil, nil, e
	}
	if t.owner.authorizer == "" {
		return nil, nil, wxErr(codeInvalidCredential)
	}
	return t, s.accounts[t.owner.authorizer], nil
}

// tokenAuthorizer is the account an access_token belongs to, if any, for
// faults and counters.
func (s *Sim) tokenAuthorizer(r *http.Request) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t, ok := s.tokens[r.URL.Query().Get("access_token")]; ok {
		return t.owner.authorizer
	}
	return ""
}

// granted reports whether the account granted the component one of the
// permission sets; an API outside them answers 61007. s.mu is held.
func (s *Sim) granted(owner pair, sets ...int) bool {
	g, ok := s.grants[owner]
	if !ok {
		return false
	}
	for _, id := range sets {
		if slices.Contains(g.funcInfo, id) {
			return true
		}
	}
	return false
}

type customMessage struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	Image  *mediaRef `json:"image"`
	Voice  *mediaRef `json:"voice"`
	Video  *mediaRef `json:"video"`
	MpNews *mediaRef `json:"mpnews"`
	// parts is the message by top-level key, for the types checked only
	// for presence.
	parts map[string]json.RawMessage
}

type mediaRef struct {
	MediaID string `json:"media_id"`
}

// check validates a custom message's content as WeChat does.
func (m *customMessage) check() *apiError {
	switch m.MsgType {
	case "text":
		if m.Text == nil || m.Text.Content == "" {
			return wxErr(codeEmptyContent)
		}
	case "image", "voice", "video", "mpnews":
		if m.mediaID() == "" {
			return wxErr(codeInvalidMediaID)
		}
	case "music", "news", "mpnewsarticle", "msgmenu", "wxcard", "miniprogrampage":
		if part := m.parts[m.MsgType]; len(part) == 0 || string(part) == "null" {
			return wxErr(codeDataFormat)
		}
	default:
		return wxErr(codeInvalidMsgType)
	}
	return nil
}

// mediaID is the media_id of the part msgtype names.
func (m *customMessage) mediaID() string {
	var ref *mediaRef
	switch m.MsgType {
	case "image":
		ref = m.Image
	case "voice":
		ref = m.Voice
	case "video":
		ref = m.Video
	case "mpnews":
		ref = m.MpNews
	}
	if ref == nil {
		return ""
	}
	return ref.MediaID
}

func (s *Sim) handleCustomSend(w http.ResponseWriter, r *http.Request) {
	var msg customMessage
	body, perr := readBody(r)
	if perr == nil {
		perr = decodeJSON(body, &msg)
	}
	if perr == nil {
		perr = decodeJSON(body, &msg.parts)
	}
	if s.intercept(w, r, APICustomSend, s.tokenAuthorizer(r)) {
		return
	}
	now := s.now()
	s.mu.Lock()
	t, acct, e := s.checkAuthorizerToken(r)
	if e == nil && perr != nil {
		e = perr
	}
	var f *follower
	if e == nil {
		f = acct.followers[msg.ToUser]
		// Message management for official accounts, customer service
		// messages for mini programs.
		switch {
		case f == nil:
			e = wxErr(codeInvalidOpenID)
		case !s.granted(t.owner, 1, 19):
			e = wxErr(codeUnauthorizedAPI)
		}
	}
	if e == nil {
		e = msg.check()
	}
	if e == nil && (f.lastMessage.IsZero() || now.Sub(f.lastMessage) > CustomMessageWindow) {
		e = wxErr(codeOutOfTimeLimit)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	sent := SentMessage{
		At: now, Component: t.owner.component, Authorizer: t.owner.authorizer, ToUser: msg.ToUser,
		MsgType: msg.MsgType, MediaID: msg.mediaID(), Body: json.RawMessage(body), TokenFromCode: t.fromCode,
	}
	if msg.Text != nil {
		sent.Content = msg.Text.Content
	}
	s.sent.add(sent)
	writeOK(w)
}

func (s *Sim) handleMediaGet(w http.ResponseWriter, r *http.Request) {
	if s.intercept(w, r, APIMediaGet, s.tokenAuthorizer(r)) {
		return
	}
	id := r.URL.Query().Get("media_id")
	now := s.now()
	s.mu.RLock()
	t, _, e := s.checkAuthorizerToken(r)
	var m media
	if e == nil {
		mp, ok := s.media[id]
		if !ok || mp.authorizer != t.owner.authorizer || !now.Before(mp.expiresAt) {
			e = wxErr(codeInvalidMediaID)
		} else {
			m = *mp
		}
	}
	s.mu.RUnlock()
	if e != nil {
		writeError(w, e)
		return
	}
	var data []byte
	var contentType, ext string
	switch m.kind {
	case "voice":
		// An AMR file header and silent frames: enough for a client to store.
		data = append([]byte("#!AMR\n"), bytes.Repeat([]byte{0x7c}, 50)...)
		contentType, ext = "audio/amr", "amr"
	default:
		data = mediaJPEG(id)
		contentType, ext = "image/jpeg", "jpg"
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+id+"."+ext+`"`)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Cache-Control", "no-cache, must-revalidate")
	_, _ = w.Write(data)
}

// mediaJPEG draws a small picture of its own for a media id.
func mediaJPEG(id string) []byte {
	const size = 96
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	h := hue(id)
	for y := range size {
		for x := range size {
			img.Set(x, y, color.RGBA{
				R: uint8((h + x*2) % 256),
				G: uint8((h*3 + y*2) % 256),
				B: uint8((x + y + h) % 256),
				A: 255,
			})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}

// userInfoJSON is a user as user/info answers (since 2021 without nickname
// and avatar).
type userInfoJSON struct {
	Subscribe      int    `json:"subscribe"`
	OpenID         string `json:"openid"`
	Language       string `json:"language"`
	SubscribeTime  int64  `json:"subscribe_time"`
	Remark         string `json:"remark"`
	GroupID        int    `json:"groupid"`
	TagIDList      []int  `json:"tagid_list"`
	SubscribeScene string `json:"subscribe_scene"`
	QRScene        int    `json:"qr_scene"`
	QRSceneStr     string `json:"qr_scene_str"`
}

// userInfo looks a follower up for user/info. s.mu is held (read).
func (s *Sim) userInfo(t *token, acct *account, openID, lang string) (userInfoJSON, *apiError) {
	if acct.Kind != OfficialAccount {
		return userInfoJSON{}, wxErr(codeAPIUnauthorized)
	}
	if !s.granted(t.owner, 2) {
		return userInfoJSON{}, wxErr(codeUnauthorizedAPI)
	}
	f, ok := acct.followers[openID]
	if !ok {
		return userInfoJSON{}, wxErr(codeInvalidOpenID)
	}
	if lang == "" {
		lang = "zh_CN"
	}
	return userInfoJSON{
		Subscribe: 1, OpenID: openID, Language: lang, SubscribeTime: f.subscribed.Unix(),
		TagIDList: []int{}, SubscribeScene: "ADD_SCENE_QR_CODE",
	}, nil
}

func (s *Sim) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if s.intercept(w, r, APIUserInfo, s.tokenAuthorizer(r)) {
		return
	}
	q := r.URL.Query()
	s.mu.RLock()
	t, acct, e := s.checkAuthorizerToken(r)
	var u userInfoJSON
	if e == nil {
		u, e = s.userInfo(t, acct, q.Get("openid"), q.Get("lang"))
	}
	s.mu.RUnlock()
	writeAnswer(w, u, e)
}

// maxBatchUsers is user/info/batchget's limit.
const maxBatchUsers = 100

func (s *Sim) handleUserInfoBatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserList []struct {
			OpenID string `json:"openid"`
			Lang   string `json:"lang"`
		} `json:"user_list"`
	}
	perr := readJSON(r, &req)
	if s.intercept(w, r, APIUserInfoBatchGet, s.tokenAuthorizer(r)) {
		return
	}
	s.mu.RLock()
	t, acct, e := s.checkAuthorizerToken(r)
	if e == nil && perr != nil {
		e = perr
	}
	if e == nil && (len(req.UserList) == 0 || len(req.UserList) > maxBatchUsers) {
		e = wxErr(codeInvalidArgs)
	}
	var list []userInfoJSON
	for _, u := range req.UserList {
		if e != nil {
			break
		}
		var info userInfoJSON
		info, e = s.userInfo(t, acct, u.OpenID, u.Lang)
		list = append(list, info)
	}
	s.mu.RUnlock()
	writeAnswer(w, struct {
		List []userInfoJSON `json:"user_info_list"`
	}{list}, e)
}
