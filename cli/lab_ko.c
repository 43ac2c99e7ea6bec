/* The lab notebook's words in Korean (gradus lab all --lang ko), the language of the
 * lecture notes the project grew from: each experiment's claim, each claim's sentence and
 * metric, and the page's own words. Numbers and figures are the same in every language;
 * a text without a translation here is shown in English. */
#include "lab.h"

#include <string.h>

typedef struct ko_entry {
    const char *key, *text;
} ko_entry;

/* Experiments by name; claims by id (their sentence) and by "id:metric". */
static const ko_entry KO[] = {
    /* experiments */
    {"sigmoid-saturation", "포화된 뉴런은 기울기를 죽인다: 깊은 시그모이드 망의 첫 층은 기울기를 "
                           "거의 받지 못하고, 맨 위 은닉층은 학습 초기에 0으로 밀린다 (Glorot, "
                           "Bengio 2010)"},
    {"zero-centred-outputs", "시그모이드 출력은 0 중심이 아니다: 모두 양수인 입력은 한 유닛의 "
                             "가중치 기울기를 한 부호로 만들고, 0 중심 입력이나 출력은 더 적은 "
                             "스텝에 배운다"},
    {"exp-cost", "exp()는 계산 비용이 조금 크다: 시그모이드, tanh, ELU, GELU는 원소당 ReLU보다 "
                 "비싸지만 학습 스텝에서 차지하는 몫은 작다"},
    {"init-depth", "가중치가 너무 작으면 깊은 망의 활성값이 0으로 가고, 너무 크면 포화한다; "
                   "Xavier(tanh)와 He(ReLU)는 활성값을 살려 두며, 같은 가중치는 대칭을 깨지 "
                   "못한다"},
    {"learning-rate", "아주 낮은, 낮은, 좋은, 높은, 아주 높은 학습률의 손실 곡선: 너무 낮으면 "
                      "느리고, 너무 높으면 정체하거나 발산하며, 범위 시험이 좋은 학습률을 찾는다"},
    {"preprocessing", "0 중심(그리고 표준화된) 입력은 최적화를 돕는다; 이미지에는 백색화가 "
                      "필요 없다"},
    {"bn-dropout", "배치 정규화는 규제 효과가 있다; 배치 정규화를 쓰면 드롭아웃은 덜 쓰인다"},
    /* sigmoid-saturation */
    {"sigmoid-starves-first-layer", "포화하는 시그모이드는 기울기를 죽인다: 깊은 시그모이드 "
                                    "망의 첫 층은 마지막 은닉층 기울기의 아주 작은 몫을 받는다"},
    {"sigmoid-starves-first-layer:metric", "첫 스텝에서 첫째 대 다섯째 은닉층 가중치 기울기 "
                                           "노름의 비, 시그모이드"},
    {"relu-passes-more", "ReLU는 시그모이드보다 기울기를 훨씬 잘 아래로 전한다"},
    {"relu-passes-more:metric", "그 비의 log10, ReLU 빼기 시그모이드"},
    {"top-layer-saturates-at-0", "Glorot와 Bengio: 깊은 시그모이드 망의 맨 위 은닉층은 학습 "
                                 "초기에 0 쪽으로 밀린다"},
    {"top-layer-saturates-at-0:metric", "첫 에폭 동안 맨 위 은닉층 출력 평균의 최솟값, "
                                        "시그모이드"},
    {"sigmoid-learns-slowest", "시그모이드 망은 ReLU 망보다 느리게 배운다"},
    {"sigmoid-learns-slowest:metric", "마지막 학습 손실, 시그모이드 빼기 ReLU"},
    /* zero-centred-outputs */
    {"raw-pixels-one-sign", "모두 양수인 입력(원래 픽셀)은 표본마다 각 유닛 가중치의 기울기를 "
                            "한 부호로 만든다"},
    {"raw-pixels-one-sign:metric", "기울기가 한 부호인 첫 층 유닛의 비율, 원래 픽셀, 배치 1"},
    {"centred-pixels-mixed", "0 중심 입력은 그렇지 않다"},
    {"centred-pixels-mixed:metric", "같은 비율, 0 중심 픽셀, 배치 1"},
    {"sigmoid-outputs-one-sign", "모두 양수인 시그모이드 출력은 다음 층에 같은 일을 한다; tanh "
                                 "출력은 그렇지 않다"},
    {"sigmoid-outputs-one-sign:metric", "기울기가 한 부호인 둘째 층 유닛의 비율, 배치 1, "
                                        "시그모이드 빼기 tanh"},
    {"centred-inputs-faster", "0 중심 입력은 더 적은 스텝에 목표 손실에 이른다"},
    {"centred-inputs-faster:metric", "평활한 학습 손실 1.0까지의 스텝, 원래 빼기 0 중심 픽셀 "
                                     "(tanh 망)"},
    {"tanh-faster-than-sigmoid", "0 중심인 tanh 출력은 시그모이드 출력보다 더 적은 스텝에 "
                                 "이른다"},
    {"tanh-faster-than-sigmoid:metric", "같은 손실까지의 스텝, 시그모이드 빼기 tanh (0 중심 "
                                        "픽셀)"},
    /* exp-cost */
    {"sigmoid-costs-more", "exp()는 계산 비용이 조금 크다: 시그모이드의 순전파는 원소당 "
                           "ReLU보다 비싸다"},
    {"sigmoid-costs-more:metric", "시그모이드 순전파의 원소당 ns 대 ReLU의"},
    {"exp-family-costs-more", "exp()나 erf()를 계산하는 다른 활성화(tanh, ELU, GELU)도 "
                              "그렇다"},
    {"exp-family-costs-more:metric", "tanh, ELU, GELU 중 가장 싼 순전파의 원소당 ns 대 ReLU의"},
    {"a-small-share", "...하지만 조금일 뿐: MLP 스텝에서 시그모이드 층이 차지하는 시간은 작다"},
    {"a-small-share:metric", "784-256-256-10 스텝에서 두 시그모이드 층이 차지하는 몫"},
    /* init-depth */
    {"small-vanishes", "0.01 N(0,1) 가중치: tanh 활성값은 깊이에 따라 0으로 간다"},
    {"small-vanishes:metric", "10층 표준편차 대 1층 표준편차, tanh, 0.01 N(0,1)"},
    {"large-saturates", "1.0 N(0,1) 가중치: tanh 유닛은 -1과 1에서 포화한다"},
    {"large-saturates:metric", "10층 tanh 출력 중 ±0.99 밖의 비율, 1.0 N(0,1)"},
    {"large-kills-gradients", "포화한 tanh 유닛은 기울기를 거의 전하지 않는다"},
    {"large-kills-gradients:metric", "10층의 국소 기울기 1 - a^2의 평균, 1.0 N(0,1)"},
    {"xavier-keeps-tanh", "Xavier는 tanh 활성값을 깊이 끝까지 살려 둔다"},
    {"xavier-keeps-tanh:metric", "10층 표준편차 대 1층 표준편차, tanh, Xavier"},
    {"xavier-halves-relu", "ReLU에서 Xavier의 활성값은 깊이에 따라 줄어든다"},
    {"xavier-halves-relu:metric", "10층 표준편차 대 1층 표준편차, ReLU, Xavier"},
    {"he-keeps-relu", "He 초기화는 ReLU 활성값의 크기를 지킨다"},
    {"he-keeps-relu:metric", "층 표준편차의 최댓값 대 최솟값, ReLU, He"},
    {"symmetry-stays", "같은 초기 가중치에서 시작한 유닛들은 학습 내내 같은 채로 남는다"},
    {"symmetry-stays:metric", "학습 뒤 첫 층 유닛 사이의 가장 큰 차이 대 가장 큰 가중치"},
    /* learning-rate */
    {"good-ends-lowest", "좋은 학습률이 다섯 가운데 가장 낮은 학습 손실로 끝난다"},
    {"good-ends-lowest:metric", "나머지 넷 중 가장 낮은 마지막 손실 빼기 좋은 학습률의 손실"},
    {"low-is-slow", "낮은 학습률은 배우지만 느리다: 좋은 학습률보다 높게 끝난다"},
    {"low-is-slow:metric", "좋은 학습률의 1/30에서 마지막 손실 빼기 좋은 학습률의 손실"},
    {"very-low-barely-moves", "아주 낮은 학습률은 손실을 거의 움직이지 못한다"},
    {"very-low-barely-moves:metric", "좋은 학습률의 1/1000에서 마지막 손실 대 첫 손실"},
    {"high-ends-worse", "높은 학습률은 빨리 떨어진 뒤 좋은 학습률보다 높게 정체한다"},
    {"high-ends-worse:metric", "좋은 학습률의 10배에서 마지막 손실 빼기 좋은 학습률의 손실"},
    {"very-high-explodes", "아주 높은 학습률은 손실을 폭발시킨다"},
    {"very-high-explodes:metric", "좋은 학습률의 100배에서 손실이 처음의 3배를 넘거나 발산한 "
                                  "시드의 비율"},
    /* preprocessing */
    {"centring-helps", "0 중심 입력은 최적화를 돕는다: 첫 에폭 뒤 손실이 원래 픽셀보다 낮다"},
    {"centring-helps:metric", "각자 가장 좋은 학습률에서 첫 에폭 학습 손실, 원래 빼기 0 중심"},
    {"standardising-helps", "표준화된 입력도 돕는다: 첫 에폭 뒤 손실이 원래 픽셀보다 낮다"},
    {"standardising-helps:metric", "각자 가장 좋은 학습률에서 첫 에폭 학습 손실, 원래 빼기 "
                                   "표준화"},
    {"whitening-not-needed", "백색화는 이미지에 보탬이 적다: 검증 정확도가 표준화보다 1점 넘게 "
                             "높지 않다"},
    {"whitening-not-needed:metric", "마지막 검증 정확도, 백색화 빼기 표준화"},
    /* batchnorm */
    {"batchnorm", "배치 정규화는 기울기 흐름을 좋게 하고, 더 높은 학습률을 허용하며, 초기화에 "
                  "덜 의존하고, 테스트 때 다르게 동작한다"},
    {"bn-trains-more", "배치 정규화는 초기화와 학습률에 덜 의존한다: 격자의 더 많은 실행이 "
                       "학습된다"},
    {"bn-trains-more:metric", "3 x 3 격자에서 검증 정확도 0.5를 넘은 실행 수, 배치 정규화 "
                              "있음 빼기 없음"},
    {"bn-allows-higher-lr", "배치 정규화는 더 높은 학습률을 허용한다: 격자 가운데 학습률의 "
                            "10배인 1에서, 일반 망이 못 배우는 곳에서 배운다"},
    {"bn-allows-higher-lr:metric", "가중치 표준편차 0.1, 학습률 1에서 검증 정확도, 배치 정규화 "
                                   "있음 빼기 없음"},
    {"bn-steadies-inputs", "배치 정규화는 한 유닛 입력의 분포를 학습 내내 안정되게 지킨다 "
                           "(Ioffe, Szegedy)"},
    {"bn-steadies-inputs:metric", "마지막 시그모이드 입력 중앙값의 학습 중 표준편차, 없음 빼기 "
                                  "있음"},
    {"bn-differs-at-test", "배치 정규화는 테스트 때 다르게 동작한다: 제 통계를 쓰는 아주 작은 "
                           "배치는 실패하고 이동 통계는 잘 된다 (표본 하나는 아예 거부된다)"},
    {"bn-differs-at-test:metric", "테스트 정확도, 이동 통계 빼기 크기 2의 배치"},
    /* search */
    {"search", "같은 예산에서 무작위 탐색이 격자 탐색보다 낫다: 중요한 매개변수의 값을 더 많이 "
               "시도한다 (Bergstra, Bengio 2012)"},
    {"random-tries-more-values", "같은 예산에서 무작위 탐색은 중요한 매개변수의 값을 격자 "
                                 "탐색보다 더 많이 시도한다"},
    {"random-tries-more-values:metric", "시도 9번에서 써 본 서로 다른 학습률의 수, 무작위 빼기 "
                                        "격자"},
    {"random-at-least-as-good", "...그래서 같거나 더 좋은 설정을 찾는다"},
    {"random-at-least-as-good:metric", "가장 좋은 검증 정확도, 무작위 빼기 격자"},
    /* bn-dropout */
    {"dropout-regularises", "드롭아웃은 작은 학습 집합에서 학습과 검증 정확도의 차이를 줄인다"},
    {"dropout-regularises:metric", "드롭아웃 없을 때의 차이 빼기 있을 때의 차이, 표본 500개, "
                                   "배치 정규화 없음"},
    {"bn-regularises", "배치 정규화는 규제 효과가 있다: 작은 학습 집합에서 차이를 줄인다"},
    {"bn-regularises:metric", "배치 정규화 없을 때의 차이 빼기 있을 때의 차이, 표본 500개, "
                              "드롭아웃 없음"},
    {"dropout-less-needed-with-bn", "배치 정규화를 쓰면 드롭아웃이 검증 정확도에 보태는 것이 "
                                    "쓰지 않을 때보다 적다"},
    {"dropout-less-needed-with-bn:metric", "배치 정규화가 있을 때 드롭아웃의 검증 이득 빼기 "
                                           "없을 때의 이득, 표본 500개"},
    /* the page's own words */
    {"@title", "강의 노트: Training Neural Networks, 이 기계에서 측정함"},
    {"@intro", "각 절은 강의의 주장 하나를 이 기계에서 측정한 것이다: 주장, 그림, 측정한 수, "
               "판정, 그리고 같은 수를 다시 재는 명령."},
    {"@again", "다시 재려면:"},
    {"@verdicts", "판정"},
    {"@claim", "주장"},
    {"@verdict", "판정"},
    {"@evidence", "근거"},
    {"@figures", "그림"},
    {"@tables", "표"},
    {"@held", "성립"},
    {"@did not hold", "성립하지 않음"},
    {"@inconclusive", "결론 없음"},
    {"@interval", "95% 구간"},
    {"@seeds", "시드"},
    {"@expects below", "기대: 다음보다 작음"},
    {"@expects above", "기대: 다음보다 큼"},
    {"@summary", "요약"},
    {"@experiment", "실험"},
    {"@seconds", "초"},
    {"@size", "크기"},
    {"@full", "전체"},
};

const char *lab_ko(const char *key)
{
    for (size_t i = 0; key && i < sizeof KO / sizeof KO[0]; i++)
        if (strcmp(KO[i].key, key) == 0)
            return KO[i].text;
    return NULL;
}
