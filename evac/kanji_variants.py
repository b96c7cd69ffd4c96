"""旧字体 and 異体字 of kanji, each with the form a name is folded to (evac.identity, evac.disclosure).

A My Number card prints a name as the family register holds it (淺野, 瀧本, 榮), while staff at another shelter
type what their IME offers first (浅野, 滝本, 栄).  Both are one name: the tables below say which forms are
variants of one character, old form → new form.

Sources (government lists, not hand-picked pairs):
- JOYO_KYUJITAI: the 常用漢字表 (平成22年内閣告示第2号), every character's bracketed 康熙字典体: 364 forms.  Those
  Unicode encodes as compatibility ideographs (海 U+FA45, 神 U+FA19, ...) are left out, since NFKC, which every
  name goes through first, already makes them the usual form; the other 301 are here.  Taken from
  the PyPI package joyokanji 1.1.0 (config/kanji.json, Apache-2.0, built from the same 告示), with the four it
  leaves out (辨 瓣 辯 → 弁, 龜 → 亀) added from the table.
- JINMEI_ITAIJI: 戸籍法施行規則 別表第二 (人名用漢字): its 一's characters listed in two forms (尭―堯, the first
  kept), as PyPI's kyujipy 0.6.8 lists them (data/kyujitai_simplified.cson, kyujitai_variants.cson, MIT); and
  the eight variants of its 二 (常用漢字の異体字) the 常用漢字表 does not bracket, written out from 別表第二 (no
  package lists them).
- NAME_VARIANTS: forms JIS X 0213:2004 changed and their 簡易慣用字体 (藪/薮, 彥/彦, 聰/聡, ...), as kyujipy
  lists them beside the 人名用漢字, less 濾/沪 and 嬀/媯 (no name's form); and 渕 for 淵, the one everyday
  surname variant (岩渕, 渕上) in no list.
Unihan's kTraditionalVariant/kSimplifiedVariant are Chinese simplification, not these, and are not used.

Standard library only.
"""
from __future__ import annotations

__all__ = ["JINMEI_ITAIJI", "JOYO_KYUJITAI", "NAME_VARIANTS", "OLD_TO_NEW"]


def _pairs(text: str) -> dict[str, str]:
    """"舊新 舊新 ..." → {舊: 新}."""
    return {pair[0]: pair[1] for pair in text.split()}


JOYO_KYUJITAI = _pairs(
    "乘乗 亂乱 亞亜 佛仏 來来 倂併 假仮 傳伝 僞偽 價価 儉倹 兒児 兩両 剩剰 劍剣 劑剤 勞労 勳勲 勵励 勸勧 區区 卷巻 卽即 參参 "
    "單単 嚴厳 囑嘱 圈圏 國国 圍囲 圓円 圖図 團団 增増 墮堕 壓圧 壘塁 壞壊 壤壌 壯壮 壹壱 壽寿 奧奥 奬奨 孃嬢 學学 寢寝 實実 "
    "寫写 寬寛 寶宝 將将 專専 對対 屆届 屬属 峽峡 嶽岳 巢巣 帶帯 廢廃 廣広 廳庁 彈弾 彌弥 徑径 從従 徵徴 德徳 恆恒 惠恵 惡悪 "
    "惱悩 愼慎 慘惨 應応 懷懐 戀恋 戰戦 戲戯 戾戻 拂払 拔抜 拜拝 挾挟 插挿 揭掲 搖揺 搜捜 擇択 擊撃 擔担 據拠 擧挙 擴拡 攝摂 "
    "收収 效効 敍叙 敕勅 數数 斷断 晚晩 晝昼 曆暦 曉暁 曾曽 會会 條条 棧桟 榮栄 槪概 樂楽 樓楼 樞枢 樣様 橫横 檢検 櫻桜 權権 "
    "歐欧 歡歓 步歩 歷歴 歸帰 殘残 殼殻 毆殴 每毎 氣気 涉渉 淚涙 淨浄 淺浅 渴渇 溪渓 溫温 滯滞 滿満 潛潜 澁渋 澤沢 濕湿 濟済 "
    "濱浜 瀧滝 瀨瀬 灣湾 燈灯 燒焼 營営 爐炉 爭争 爲為 犧犠 狀状 狹狭 獨独 獵猟 獸獣 獻献 瓣弁 甁瓶 畫画 當当 疊畳 瘦痩 癡痴 "
    "發発 盜盗 盡尽 眞真 硏研 碎砕 祕秘 禪禅 禮礼 稱称 稻稲 穗穂 穩穏 竊窃 竝並 粹粋 絲糸 經経 綠緑 緖緒 緣縁 縣県 縱縦 總総 "
    "繩縄 繪絵 繼継 續続 纖繊 缺欠 罐缶 聲声 聽聴 肅粛 腦脳 膽胆 臟臓 臺台 與与 舊旧 艷艶 莊荘 莖茎 萬万 薰薫 藏蔵 藝芸 藥薬 "
    "處処 虛虚 號号 螢蛍 蟲虫 蠶蚕 蠻蛮 衞衛 裝装 襃褒 覺覚 覽覧 觀観 觸触 謠謡 證証 譯訳 譽誉 讀読 變変 讓譲 豐豊 豫予 貳弐 "
    "賣売 賴頼 贊賛 踐践 輕軽 轉転 辨弁 辭辞 辯弁 遞逓 遲遅 邊辺 郞郎 鄕郷 醉酔 醫医 釀醸 釋釈 錄録 錢銭 鍊錬 鎭鎮 鐵鉄 鑄鋳 "
    "鑛鉱 關関 陷陥 隨随 險険 隱隠 雙双 雜雑 霸覇 靈霊 靜静 顯顕 飜翻 餘余 騷騒 驅駆 驗験 驛駅 髓髄 體体 髮髪 鬭闘 鷄鶏 鹽塩 "
    "麥麦 麵麺 黃黄 黑黒 默黙 點点 黨党 齊斉 齋斎 齒歯 齡齢 龍竜 龜亀 "
)
JINMEI_ITAIJI = _pairs(
    # 二: 常用漢字の異体字 the 常用漢字表 does not bracket
    "駈駆 薗園 嶋島 盃杯 冨富 峯峰 埜野 凉涼 "
    # 一: one character in two forms (those NFKC already joins, 渚 猪 琢 祐 禎, need no entry)
    "亙亘 凜凛 堯尭 巖巌 晄晃 檜桧 槇槙 禰祢 禱祷 祿禄 穰穣 萠萌 遙遥 瑤瑶 "
)
NAME_VARIANTS = _pairs(
    "摑掴 彥彦 聰聡 啞唖 噓嘘 穎頴 鷗鴎 軀躯 鶯鴬 攪撹 麴麹 鹼鹸 嚙噛 繡繍 蔣蒋 醬醤 搔掻 屛屏 幷并 蘆芦 蠟蝋 彎弯 焰焔 "
    "礦砿 讚讃 顚顛 巓巔 醱醗 潑溌 輛輌 繫繋 瀆涜 儘侭 藪薮 蠅蝿 驒騨 簞箪 渕淵 "
)
# Every old form → its new form.  No new form is itself an old form (no chains): folding once is enough.
OLD_TO_NEW = {**JOYO_KYUJITAI, **JINMEI_ITAIJI, **NAME_VARIANTS}
