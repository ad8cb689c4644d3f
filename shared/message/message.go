// Package message serves the message URL of the platform
// (POST /wechat/{appid}/callback), where WeChat pushes every message and
// event of every authorized account, and answers each push within WeChat's
// five seconds: a passive reply, encrypted and signed, or "success".
//
// A push is authenticated and decrypted (package push), parsed into a
// [Message], de-duplicated against WeChat's retries in the store, and handed
// to the Go handler a [Router] finds for its account and type. The
// full-network release check's cases for WeChat's published test accounts
// are answered by the package itself.
package message

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Message types (MsgType).
const (
	TypeText            = "text"
	TypeImage           = "image"
	TypeVoice           = "voice"
	TypeVideo           = "video"
	TypeShortVideo      = "shortvideo"
	TypeLocation        = "location"
	TypeLink            = "link"
	TypeMiniProgramPage = "miniprogrampage" // a mini program card sent to a mini program's customer service
	TypeEvent           = "event"
)

// Events (Event, with MsgType "event"). WeChat spells official-account
// events in capitals except subscribe and unsubscribe, and mini-program
// events in lower case; the names are matched exactly.
const (
	EventSubscribe             = "subscribe"   // followed; with EventKey "qrscene_…" when by a parametric QR code
	EventUnsubscribe           = "unsubscribe" // unfollowed
	EventScan                  = "SCAN"        // a follower scanned a parametric QR code
	EventLocation              = "LOCATION"    // reported location
	EventClick                 = "CLICK"       // menu click
	EventView                  = "VIEW"        // menu link opened
	EventTemplateSendJobFinish = "TEMPLATESENDJOBFINISH"
	EventMassSendJobFinish     = "MASSSENDJOBFINISH"

	EventWeappAuditSuccess    = "weapp_audit_success" // mini program code audit passed
	EventWeappAuditFail       = "weapp_audit_fail"
	EventWeappAuditDelay      = "weapp_audit_delay"
	EventNicknameAudit        = "wxa_nickname_audit"     // mini program name audit result
	EventUserEnterTempSession = "user_enter_tempsession" // a user opened the mini program's customer service
)

// Message is one decrypted message or event. The header every push has is
// in fields; everything else is read from Fields by the accessors, so a
// message costs one parse whatever its type, and a type this package does not
// know keeps every element.
type Message struct {
	AppID        string // the authorizer's appid, from the URL
	ToUserName   string // the account's original id (gh_…)
	FromUserName string // the sender's openid
	CreateTime   int64  // Unix seconds
	MsgType      string
	Event        string // for MsgType "event"
	MsgID        string // MsgId (MsgID in some events); empty for most events
	Fields       wxxml.Fields
}

// Parse parses the decrypted XML of a push to the account appID. A document
// that is not XML, or lacks ToUserName, FromUserName, MsgType or a numeric
// CreateTime, or is an event without Event, is an error.
func Parse(appID string, data []byte) (Message, error) {
	f, err := wxxml.Parse(data)
	if err != nil {
		return Message{}, fmt.Errorf("parse message: %w", err)
	}
	m := Message{
		AppID:        appID,
		ToUserName:   f.Get("ToUserName"),
		FromUserName: f.Get("FromUserName"),
		MsgType:      f.Get("MsgType"),
		Event:        f.Get("Event"),
		MsgID:        f.Get("MsgId"),
		Fields:       f,
	}
	if m.MsgID == "" {
		m.MsgID = f.Get("MsgID")
	}
	switch {
	case m.ToUserName == "":
		return Message{}, errors.New("parse message: no ToUserName")
	case m.FromUserName == "":
		return Message{}, errors.New("parse message: no FromUserName")
	case m.MsgType == "":
		return Message{}, errors.New("parse message: no MsgType")
	case m.MsgType == TypeEvent && m.Event == "":
		return Message{}, errors.New("parse message: event without Event")
	}
	m.CreateTime, err = strconv.ParseInt(strings.TrimSpace(f.Get("CreateTime")), 10, 64)
	if err != nil {
		return Message{}, fmt.Errorf("parse message: CreateTime: %w", err)
	}
	return m, nil
}

// IsEvent reports whether m is an event rather than a user's message.
func (m *Message) IsEvent() bool { return m.MsgType == TypeEvent }

// Time returns CreateTime as a time.
func (m *Message) Time() time.Time { return time.Unix(m.CreateTime, 0) }

// Get returns the value of the element name, or "". A nested element's value
// is its raw inner XML; m.Fields.Sub reaches its children.
func (m *Message) Get(name string) string { return m.Fields.Get(name) }

// Content is a text message's text.
func (m *Message) Content() string { return m.Fields.Get("Content") }

// MediaID is the media of an image, voice, video or short video message, for
// the media/get API.
func (m *Message) MediaID() string { return m.Fields.Get("MediaId") }

// PicURL is an image message's picture URL.
func (m *Message) PicURL() string { return m.Fields.Get("PicUrl") }

// Format is a voice message's audio format (amr, speex).
func (m *Message) Format() string { return m.Fields.Get("Format") }

// Recognition is a voice message's speech-to-text, when the account turned
// recognition on.
func (m *Message) Recognition() string { return m.Fields.Get("Recognition") }

// ThumbMediaID is the thumbnail of a video or short video message.
func (m *Message) ThumbMediaID() string { return m.Fields.Get("ThumbMediaId") }

// EventKey is a menu event's key (CLICK), URL (VIEW) or a QR code's scene
// (subscribe, SCAN).
func (m *Message) EventKey() string { return m.Fields.Get("EventKey") }

// Ticket is a scanned QR code's ticket (subscribe, SCAN).
func (m *Message) Ticket() string { return m.Fields.Get("Ticket") }

// SessionFrom is what the mini program passed when the user opened its
// customer service (user_enter_tempsession).
func (m *Message) SessionFrom() string { return m.Fields.Get("SessionFrom") }

// Location is a location message's place.
type Location struct {
	Latitude, Longitude float64 // Location_X, Location_Y
	Scale               int     // map zoom
	Label               string  // the place's description
}

// Location returns a location message's place. Values that are not numbers
// are zero.
func (m *Message) Location() Location {
	return Location{
		Latitude:  parseFloat(m.Fields.Get("Location_X")),
		Longitude: parseFloat(m.Fields.Get("Location_Y")),
		Scale:     int(parseInt(m.Fields.Get("Scale"))),
		Label:     m.Fields.Get("Label"),
	}
}

// ReportedLocation is a LOCATION event's position.
type ReportedLocation struct {
	Latitude, Longitude, Precision float64
}

// ReportedLocation returns a LOCATION event's position. Values that are not
// numbers are zero.
func (m *Message) ReportedLocation() ReportedLocation {
	return ReportedLocation{
		Latitude:  parseFloat(m.Fields.Get("Latitude")),
		Longitude: parseFloat(m.Fields.Get("Longitude")),
		Precision: parseFloat(m.Fields.Get("Precision")),
	}
}

// Link is a link message's page.
type Link struct {
	Title, Description, URL string
}

// Link returns a link message's page.
func (m *Message) Link() Link {
	return Link{Title: m.Fields.Get("Title"), Description: m.Fields.Get("Description"), URL: m.Fields.Get("Url")}
}

// MiniProgramPage is a mini program card a user sent to customer service.
type MiniProgramPage struct {
	Title, AppID, PagePath, ThumbURL, ThumbMediaID string
}

// MiniProgramPage returns the card of a miniprogrampage message.
func (m *Message) MiniProgramPage() MiniProgramPage {
	return MiniProgramPage{
		Title:        m.Fields.Get("Title"),
		AppID:        m.Fields.Get("AppId"),
		PagePath:     m.Fields.Get("PagePath"),
		ThumbURL:     m.Fields.Get("ThumbUrl"),
		ThumbMediaID: m.Fields.Get("ThumbMediaId"),
	}
}

// JobResult is the outcome of a template message (TEMPLATESENDJOBFINISH) or
// a mass send (MASSSENDJOBFINISH).
type JobResult struct {
	MsgID  string
	Status string // "success", or why it failed ("failed:user block", "send success", "err(…)")
	// Mass sends only.
	TotalCount, FilterCount, SentCount, ErrorCount int64
}

// JobResult returns a job-finish event's outcome.
func (m *Message) JobResult() JobResult {
	return JobResult{
		MsgID:       m.MsgID,
		Status:      m.Fields.Get("Status"),
		TotalCount:  parseInt(m.Fields.Get("TotalCount")),
		FilterCount: parseInt(m.Fields.Get("FilterCount")),
		SentCount:   parseInt(m.Fields.Get("SentCount")),
		ErrorCount:  parseInt(m.Fields.Get("ErrorCount")),
	}
}

// CodeAudit is a mini program code audit's outcome (weapp_audit_success,
// weapp_audit_fail, weapp_audit_delay).
type CodeAudit struct {
	Passed bool
	At     time.Time // SuccTime, FailTime or DelayTime
	Reason string    // why it failed or was delayed
	// ScreenShot lists media ids of example screenshots, separated by '|'.
	ScreenShot string
}

// CodeAudit returns a code audit event's outcome.
func (m *Message) CodeAudit() CodeAudit {
	at := m.Fields.Get("SuccTime")
	switch m.Event {
	case EventWeappAuditFail:
		at = m.Fields.Get("FailTime")
	case EventWeappAuditDelay:
		at = m.Fields.Get("DelayTime")
	}
	return CodeAudit{
		Passed:     m.Event == EventWeappAuditSuccess,
		At:         time.Unix(parseInt(at), 0),
		Reason:     m.Fields.Get("Reason"),
		ScreenShot: m.Fields.Get("ScreenShot"),
	}
}

// NicknameAudit is a mini program name audit's outcome (wxa_nickname_audit).
type NicknameAudit struct {
	Nickname string
	Passed   bool   // ret 3; ret 2 is a rejection
	Reason   string // why it was rejected
}

// NicknameAudit returns a name audit event's outcome.
func (m *Message) NicknameAudit() NicknameAudit {
	return NicknameAudit{
		Nickname: m.Fields.Get("nickname"),
		Passed:   strings.TrimSpace(m.Fields.Get("ret")) == "3",
		Reason:   m.Fields.Get("reason"),
	}
}

func parseFloat(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0
	}
	return v
}

func parseInt(s string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return v
}
