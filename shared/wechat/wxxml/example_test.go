package wxxml_test

import (
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

func ExampleBuild() {
	reply := wxxml.Build(
		wxxml.Text("ToUserName", "oUser"),
		wxxml.Text("FromUserName", "gh_account"),
		wxxml.Int("CreateTime", 1700000000),
		wxxml.Text("MsgType", "image"),
		wxxml.Elem("Image", wxxml.Text("MediaId", "media-1")),
	)
	fmt.Println(string(reply))
	// Output:
	// <xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_account]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[media-1]]></MediaId></Image></xml>
}

func ExampleFields_Sub() {
	doc := []byte(`<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[pic_sysphoto]]></Event>
<SendPicsInfo><Count>2</Count><PicList>
<item><PicMd5Sum><![CDATA[aaa]]></PicMd5Sum></item>
<item><PicMd5Sum><![CDATA[bbb]]></PicMd5Sum></item>
</PicList></SendPicsInfo></xml>`)
	f, err := wxxml.Parse(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	pics := f.Sub("SendPicsInfo")
	fmt.Println(f.Get("Event"), pics.Get("Count"))
	for _, item := range pics.Sub("PicList").All() {
		fmt.Println(item.Fields().Get("PicMd5Sum"))
	}
	// Output:
	// pic_sysphoto 2
	// aaa
	// bbb
}
