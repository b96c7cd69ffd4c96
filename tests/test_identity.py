import pytest
from hypothesis import given
from hypothesis import strategies as st

from evac.identity import ITAIJI, normalize_address, normalize_name, person_key, prereg_key

SAME_ADDRESS = [
    "静岡県焼津市藤守１２３４番地の５", "藤守1234-5", "焼津市藤守1234－5", "藤守 1234番地5", "藤守1234番5",
    "藤守一二三四番地の五",
]


@pytest.mark.parametrize("typed", SAME_ADDRESS)
def test_card_and_typed_addresses_match(typed):
    assert normalize_address(typed) == normalize_address(SAME_ADDRESS[0]) == "藤守1234-5"


@pytest.mark.parametrize("typed", ["静岡県焼津市本町五丁目9番1号", "本町5-9-1", "焼津市本町５－９－１",
                                   "本町五丁目九番一号", "本町５丁目９番１号"])
def test_chome_banchi_go_forms_match(typed):
    assert normalize_address(typed) == "本町5-9-1"


@pytest.mark.parametrize("place", ["一色1545-186", "三ケ名1550", "五ケ堀之内100"])
def test_kanji_numerals_in_place_names_stay(place):
    assert normalize_address(place) == place


def test_ga_in_place_names_folds_to_one_form():
    assert normalize_address("鰯ヶ島69-5") == normalize_address("鰯ケ島６９－５") == "鰯ケ島69-5"


def test_another_prefecture_keeps_its_city():
    assert normalize_address("東京都千代田区永田町1-7-1") == "千代田区永田町1-7-1"


@pytest.mark.parametrize("a, b", [
    ("山田 太郎", "山田太郎"), ("山田　太郎", "山田太郎"), ("髙橋 一郎", "高橋一郎"), ("山﨑 花", "山崎花"),
    ("やまだ たろう", "ヤマダ タロウ"), ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"), ("YAMADA Taro", "yamada taro"),
    ("ＹＡＭＡＤＡ　Ｔａｒｏ", "yamadataro"), ("ヤマダ・タロウ", "ヤマダタロウ"), ("𠮷田 一", "吉田一"),
    ("渡邊 健", "渡辺健"), ("渡邉 健", "渡辺健"), ("齋藤 愛", "斎藤愛"), ("濵田 光", "浜田光"),
])
def test_name_variants_match(a, b):
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize("a, b", [("龍 一", "竜 一"), ("齊藤 愛", "斎藤 愛"), ("山田 太郎", "山田 次郎")])
def test_different_names_stay_apart(a, b):
    assert normalize_name(a) != normalize_name(b)


@pytest.mark.parametrize("variant, usual", [(chr(k), v) for k, v in ITAIJI.items()])
def test_every_itaiji_entry_folds(variant, usual):
    assert normalize_name(f"{variant}野") == normalize_name(f"{usual}野")


def test_person_key_ties_name_birth_and_address():
    k = person_key("髙橋 一郎", "1950-01-01", "静岡県焼津市藤守１２３４番地の５")
    assert k.startswith("nba:") and len(k) == 36
    assert k == person_key("高橋一郎", "1950-01-01", "藤守1234-5")
    assert k != person_key("高橋一郎", "1950-01-02", "藤守1234-5")
    assert k != person_key("高橋一郎", "1950-01-01", "藤守1234-6")
    assert person_key("旅行 者", "1990-01-01", "") == person_key("旅行者", "1990-01-01", "")


def test_person_key_refuses_bad_input():
    with pytest.raises(ValueError, match="not a date"):
        person_key("山田", "1990-02-30", "")
    with pytest.raises(ValueError, match="needs a name"):
        person_key("　 ", "1990-01-01", "")


def test_prereg_key():
    assert prereg_key(" PR-1 ") == "pre:PR-1"


names = st.text(alphabet=st.sampled_from("山田髙橋﨑太郎やまだヤマダｱｲabcＡＢ ・　"), min_size=1, max_size=12)
addresses = st.text(alphabet=st.sampled_from("静岡県焼津市本町藤守一二三四五十0123456789-－丁目番地の号ヶ "), max_size=20)


@given(names)
def test_name_normalisation_is_idempotent(name):
    assert normalize_name(normalize_name(name)) == normalize_name(name)


@given(addresses)
def test_address_normalisation_is_idempotent(address):
    assert normalize_address(normalize_address(address)) == normalize_address(address)


@given(st.text(alphabet=st.sampled_from("山田太郎花子"), min_size=1, max_size=8), st.data())
def test_whitespace_anywhere_in_a_name_does_not_change_the_key(name, data):
    pos = data.draw(st.integers(0, len(name)))
    space = data.draw(st.sampled_from([" ", "　", "\t", "\u00a0"]))
    assert person_key(name[:pos] + space + name[pos:], "2000-01-01", "") == person_key(name, "2000-01-01", "")
