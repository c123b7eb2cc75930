/**
 * Slack's Block Kit limits as a test check. `blockKitProblems` lists every
 * rule a message, modal or Home tab breaks, each as a readable sentence that
 * ends in a JSON pointer the way Slack reports it (`… [json-pointer:/blocks/0/text/text]`).
 *
 * Two layers run together:
 * - hand-written checks for the limits Slack enforces on whole payloads and
 *   the ones the bot is most likely to hit (lengths, counts, unique ids,
 *   required fallback text, `submit` on modals with inputs, view size);
 * - the vendored Block Kit JSON Schema (draft 2020-12), which catches unknown
 *   block and element types, misplaced elements and unknown properties.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";

export type SurfaceKind = "message" | "modal" | "home";

export interface Surface {
  kind: SurfaceKind;
  /** Top-level notification fallback text of a message. */
  text?: string;
  /** The blocks to check; for a modal or Home tab given with `view`, `view.blocks` is used. */
  blocks: unknown[];
  /** The whole view object (`type`, `title`, `submit`, `private_metadata`, …) for modals and Home tabs. */
  view?: unknown;
}

export interface ProblemOptions {
  /** Messages need a non-empty top-level `text` (default true). */
  requireText?: boolean;
}

/** Slack's documented limits, by name. */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  actionsElements: 25,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  urlLength: 3000,
  optionText: 75,
  optionValue: 150,
  selectOptions: 100,
  optionGroups: 100,
  overflowOptions: 5,
  checkboxOptions: 10,
  radioOptions: 10,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  id: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  plainTextInputMaxLength: 3000,
  viewBytes: 250_000,
} as const;

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function seg(part: string | number): string {
  return String(part).replace(/~/g, "~0").replace(/\//g, "~1");
}

function at(ptr: string, ...parts: Array<string | number>): string {
  return ptr + parts.map((p) => `/${seg(p)}`).join("");
}

/** Formats one problem the way Slack does: a sentence, then the JSON pointer. */
function problem(message: string, ptr: string): string {
  return `${message} [json-pointer:${ptr === "" ? "/" : ptr}]`;
}

/** Reads the JSON pointer back out of a problem string. */
export function problemPointer(p: string): string | undefined {
  return /\[json-pointer:([^\]]*)\]$/.exec(p)?.[1];
}

class Checker {
  readonly problems: string[] = [];

  add(message: string, ptr: string): void {
    this.problems.push(problem(message, ptr));
  }

  /** A text composition object: `{type: "plain_text" | "mrkdwn", text}` with 1..max characters. */
  text(
    value: unknown,
    ptr: string,
    what: string,
    opts: { max: number; required?: boolean; plainOnly?: boolean },
  ): void {
    if (value === undefined) {
      if (opts.required) this.add(`${what} is required`, ptr);
      return;
    }
    if (!isObj(value)) {
      this.add(`${what} must be a text object`, ptr);
      return;
    }
    if (opts.plainOnly && value.type !== "plain_text") {
      this.add(`${what} must be plain_text, got ${JSON.stringify(value.type)}`, at(ptr, "type"));
    } else if (value.type !== "plain_text" && value.type !== "mrkdwn") {
      this.add(`${what} must be plain_text or mrkdwn, got ${JSON.stringify(value.type)}`, at(ptr, "type"));
    }
    const text = value.text;
    if (typeof text !== "string") {
      this.add(`${what} text must be a string`, at(ptr, "text"));
      return;
    }
    if (text.length === 0) this.add(`${what} must not be empty`, at(ptr, "text"));
    if (text.length > opts.max) {
      this.add(`${what} must be at most ${opts.max} characters, got ${text.length}`, at(ptr, "text"));
    }
  }

  /** A plain string field with a maximum length (and optionally a minimum). */
  str(
    value: unknown,
    ptr: string,
    what: string,
    max: number,
    opts: { required?: boolean; min?: number } = {},
  ) {
    if (value === undefined) {
      if (opts.required) this.add(`${what} is required`, ptr);
      return;
    }
    if (typeof value !== "string") {
      this.add(`${what} must be a string`, ptr);
      return;
    }
    const min = opts.min ?? 0;
    if (value.length < min) this.add(`${what} must be at least ${min} characters, got ${value.length}`, ptr);
    if (value.length > max) this.add(`${what} must be at most ${max} characters, got ${value.length}`, ptr);
  }

  /** An array with min..max items; returns the array when it is one. */
  list(value: unknown, ptr: string, what: string, min: number, max: number): unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.add(`${what} must be an array`, ptr);
      return undefined;
    }
    if (value.length < min) this.add(`${what} must have at least ${min} item(s), got ${value.length}`, ptr);
    if (value.length > max) this.add(`${what} must have at most ${max} items, got ${value.length}`, ptr);
    return value;
  }

  option(value: unknown, ptr: string, allowMrkdwn: boolean): void {
    if (!isObj(value)) {
      this.add("option must be an object", ptr);
      return;
    }
    this.text(value.text, at(ptr, "text"), "option text", {
      max: LIMITS.optionText,
      required: true,
      plainOnly: !allowMrkdwn,
    });
    this.str(value.value, at(ptr, "value"), "option value", LIMITS.optionValue, { required: true, min: 1 });
    this.text(value.description, at(ptr, "description"), "option description", {
      max: LIMITS.optionText,
      plainOnly: !allowMrkdwn,
    });
  }

  options(value: unknown, ptr: string, what: string, min: number, max: number, allowMrkdwn = false): void {
    const options = this.list(value, ptr, what, min, max);
    options?.forEach((o, i) => {
      this.option(o, at(ptr, i), allowMrkdwn);
    });
  }

  confirm(value: unknown, ptr: string): void {
    if (value === undefined) return;
    if (!isObj(value)) {
      this.add("confirm must be an object", ptr);
      return;
    }
    const plain = { required: true, plainOnly: true };
    this.text(value.title, at(ptr, "title"), "confirm title", { ...plain, max: LIMITS.confirmTitle });
    this.text(value.text, at(ptr, "text"), "confirm text", { max: LIMITS.confirmText, required: true });
    this.text(value.confirm, at(ptr, "confirm"), "confirm button", { ...plain, max: LIMITS.confirmButton });
    this.text(value.deny, at(ptr, "deny"), "deny button", { ...plain, max: LIMITS.confirmButton });
  }

  element(el: unknown, ptr: string, actionIds: Map<string, string>): void {
    if (!isObj(el)) {
      this.add("element must be an object", ptr);
      return;
    }
    if (el.action_id !== undefined) {
      this.str(el.action_id, at(ptr, "action_id"), "action_id", LIMITS.id, { min: 1 });
      if (typeof el.action_id === "string") {
        const first = actionIds.get(el.action_id);
        if (first !== undefined) {
          this.add(
            `action_id ${JSON.stringify(el.action_id)} is already used in this block at ${first}`,
            ptr,
          );
        } else {
          actionIds.set(el.action_id, ptr);
        }
      }
    }
    this.text(el.placeholder, at(ptr, "placeholder"), "placeholder", {
      max: LIMITS.placeholder,
      plainOnly: true,
    });
    this.confirm(el.confirm, at(ptr, "confirm"));

    switch (el.type) {
      case "button":
        this.text(el.text, at(ptr, "text"), "button text", {
          max: LIMITS.buttonText,
          required: true,
          plainOnly: true,
        });
        this.str(el.value, at(ptr, "value"), "button value", LIMITS.buttonValue, { min: 1 });
        this.str(el.url, at(ptr, "url"), "button url", LIMITS.urlLength, { min: 1 });
        break;
      case "static_select":
      case "multi_static_select": {
        const hasOptions = el.options !== undefined;
        const hasGroups = el.option_groups !== undefined;
        if (hasOptions === hasGroups) {
          this.add("a static select needs exactly one of options or option_groups", ptr);
        }
        if (hasOptions) {
          this.options(el.options, at(ptr, "options"), "select options", 1, LIMITS.selectOptions);
        }
        if (hasGroups) {
          const groups = this.list(
            el.option_groups,
            at(ptr, "option_groups"),
            "option groups",
            1,
            LIMITS.optionGroups,
          );
          groups?.forEach((g, i) => {
            const gp = at(ptr, "option_groups", i);
            if (!isObj(g)) {
              this.add("option group must be an object", gp);
              return;
            }
            this.text(g.label, at(gp, "label"), "option group label", {
              max: LIMITS.optionText,
              required: true,
              plainOnly: true,
            });
            this.options(g.options, at(gp, "options"), "option group options", 1, LIMITS.selectOptions);
          });
        }
        this.initialOptions(el, ptr, false);
        break;
      }
      case "external_select":
      case "multi_external_select":
        this.initialOptions(el, ptr, false);
        break;
      case "overflow":
        this.options(el.options, at(ptr, "options"), "overflow options", 1, LIMITS.overflowOptions);
        break;
      case "checkboxes":
        this.options(el.options, at(ptr, "options"), "checkbox options", 1, LIMITS.checkboxOptions, true);
        this.initialOptions(el, ptr, true);
        break;
      case "radio_buttons":
        this.options(el.options, at(ptr, "options"), "radio options", 1, LIMITS.radioOptions, true);
        this.initialOptions(el, ptr, true);
        break;
      case "plain_text_input": {
        const { min_length: minLength, max_length: maxLength } = el;
        if (maxLength !== undefined) {
          if (
            typeof maxLength !== "number" ||
            !Number.isInteger(maxLength) ||
            maxLength < 1 ||
            maxLength > LIMITS.plainTextInputMaxLength
          ) {
            this.add(
              `max_length must be an integer from 1 to ${LIMITS.plainTextInputMaxLength}, got ${JSON.stringify(maxLength)}`,
              at(ptr, "max_length"),
            );
          }
        }
        if (minLength !== undefined) {
          if (
            typeof minLength !== "number" ||
            !Number.isInteger(minLength) ||
            minLength < 0 ||
            minLength > LIMITS.plainTextInputMaxLength
          ) {
            this.add(
              `min_length must be an integer from 0 to ${LIMITS.plainTextInputMaxLength}, got ${JSON.stringify(minLength)}`,
              at(ptr, "min_length"),
            );
          } else if (typeof maxLength === "number" && minLength > maxLength) {
            this.add(
              `min_length ${minLength} is greater than max_length ${maxLength}`,
              at(ptr, "min_length"),
            );
          }
        }
        break;
      }
      default:
        break;
    }
  }

  private initialOptions(el: Obj, ptr: string, allowMrkdwn: boolean): void {
    if (el.initial_option !== undefined)
      this.option(el.initial_option, at(ptr, "initial_option"), allowMrkdwn);
    if (el.initial_options !== undefined) {
      const list = this.list(el.initial_options, at(ptr, "initial_options"), "initial options", 0, 100);
      list?.forEach((o, i) => {
        this.option(o, at(ptr, "initial_options", i), allowMrkdwn);
      });
    }
  }

  block(block: unknown, ptr: string, blockIds: Map<string, string>): void {
    if (!isObj(block)) {
      this.add("block must be an object", ptr);
      return;
    }
    if (block.block_id !== undefined) {
      this.str(block.block_id, at(ptr, "block_id"), "block_id", LIMITS.id, { min: 1 });
      if (typeof block.block_id === "string") {
        const first = blockIds.get(block.block_id);
        if (first !== undefined) {
          this.add(
            `block_id ${JSON.stringify(block.block_id)} is not unique (also used at ${first})`,
            at(ptr, "block_id"),
          );
        } else {
          blockIds.set(block.block_id, ptr);
        }
      }
    }
    const actionIds = new Map<string, string>();
    switch (block.type) {
      case "section": {
        if (block.text === undefined && block.fields === undefined) {
          this.add("a section needs text or fields", ptr);
        }
        this.text(block.text, at(ptr, "text"), "section text", { max: LIMITS.sectionText });
        if (block.fields !== undefined) {
          const fields = this.list(
            block.fields,
            at(ptr, "fields"),
            "section fields",
            1,
            LIMITS.sectionFields,
          );
          fields?.forEach((f, i) => {
            this.text(f, at(ptr, "fields", i), "section field", {
              max: LIMITS.sectionFieldText,
              required: true,
            });
          });
        }
        if (block.accessory !== undefined) this.element(block.accessory, at(ptr, "accessory"), actionIds);
        break;
      }
      case "header":
        this.text(block.text, at(ptr, "text"), "header text", {
          max: LIMITS.headerText,
          required: true,
          plainOnly: true,
        });
        break;
      case "actions": {
        const elements = this.list(
          block.elements,
          at(ptr, "elements"),
          "actions elements",
          1,
          LIMITS.actionsElements,
        );
        elements?.forEach((el, i) => {
          this.element(el, at(ptr, "elements", i), actionIds);
        });
        break;
      }
      case "context": {
        const elements = this.list(
          block.elements,
          at(ptr, "elements"),
          "context elements",
          1,
          LIMITS.contextElements,
        );
        elements?.forEach((el, i) => {
          if (isObj(el) && (el.type === "plain_text" || el.type === "mrkdwn")) {
            this.text(el, at(ptr, "elements", i), "context text", { max: LIMITS.sectionText });
          }
        });
        break;
      }
      case "input":
        this.text(block.label, at(ptr, "label"), "input label", {
          max: LIMITS.inputLabel,
          required: true,
          plainOnly: true,
        });
        this.text(block.hint, at(ptr, "hint"), "input hint", { max: LIMITS.inputHint, plainOnly: true });
        if (block.element === undefined) this.add("an input block needs an element", ptr);
        else this.element(block.element, at(ptr, "element"), actionIds);
        break;
      default:
        break;
    }
  }

  view(view: unknown, kind: "modal" | "home", blocks: unknown[]): void {
    const ptr = "/view";
    if (!isObj(view)) {
      this.add("view must be an object", ptr);
      return;
    }
    if (view.type !== kind) this.add(`view type must be ${JSON.stringify(kind)}`, at(ptr, "type"));
    if (kind === "modal") {
      const plain = { max: LIMITS.modalTitle, plainOnly: true };
      this.text(view.title, at(ptr, "title"), "modal title", { ...plain, required: true });
      this.text(view.submit, at(ptr, "submit"), "modal submit", { ...plain, max: LIMITS.modalButton });
      this.text(view.close, at(ptr, "close"), "modal close", { ...plain, max: LIMITS.modalButton });
      const hasInput = blocks.some((b) => isObj(b) && b.type === "input");
      if (hasInput && view.submit === undefined) {
        this.add("a modal with an input block needs a submit button", at(ptr, "submit"));
      }
    }
    this.str(view.private_metadata, at(ptr, "private_metadata"), "private_metadata", LIMITS.privateMetadata);
    this.str(view.callback_id, at(ptr, "callback_id"), "callback_id", LIMITS.id);
    this.str(view.external_id, at(ptr, "external_id"), "external_id", LIMITS.id);
    const bytes = Buffer.byteLength(JSON.stringify(view), "utf8");
    if (bytes > LIMITS.viewBytes) {
      this.add(`view is ${bytes} bytes, more than ${LIMITS.viewBytes} (view_too_large)`, ptr);
    }
  }
}

/** Every plain_text / mrkdwn object anywhere in `value` must carry non-empty text. */
function emptyTextObjects(value: unknown, ptr: string, out: Map<string, string>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      emptyTextObjects(v, at(ptr, i), out);
    });
    return;
  }
  if (!isObj(value)) return;
  if ((value.type === "plain_text" || value.type === "mrkdwn") && "text" in value) {
    if (typeof value.text !== "string" || value.text.length === 0) {
      out.set(at(ptr, "text"), problem(`${value.type} text must not be empty`, at(ptr, "text")));
    }
  }
  for (const [key, v] of Object.entries(value)) emptyTextObjects(v, at(ptr, key), out);
}

// ---------------------------------------------------------------------------
// JSON Schema layer

interface Validators {
  block: ValidateFunction;
  modal: ValidateFunction;
  home: ValidateFunction;
}

let validators: Validators | undefined;

/**
 * Turns every `oneOf` whose branches are all `$ref`s to objects tagged by a
 * `type` constant into a discriminated union, so a bad button reports the
 * button's errors instead of one error per block type it is not.
 */
function addDiscriminators(schema: Obj): void {
  const defs = isObj(schema.$defs) ? schema.$defs : {};
  const tagOf = (branch: unknown): string | undefined => {
    if (!isObj(branch) || Object.keys(branch).length !== 1 || typeof branch.$ref !== "string")
      return undefined;
    const name = /^#\/\$defs\/(.+)$/.exec(branch.$ref)?.[1];
    const def = name === undefined ? undefined : defs[name];
    if (!isObj(def) || !isObj(def.properties) || !isObj(def.properties.type)) return undefined;
    const tag = def.properties.type.const;
    const required = Array.isArray(def.required) && def.required.includes("type");
    return typeof tag === "string" && required ? tag : undefined;
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (!isObj(node)) return;
    if (Array.isArray(node.oneOf) && node.discriminator === undefined) {
      const tags = node.oneOf.map(tagOf);
      if (tags.every((t) => t !== undefined) && new Set(tags).size === tags.length) {
        node.discriminator = { propertyName: "type" };
        node.type ??= "object";
        node.required = [...new Set([...(Array.isArray(node.required) ? node.required : []), "type"])];
      }
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(schema);
}

function isUri(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

function getValidators(): Validators {
  if (validators) return validators;
  const schema = JSON.parse(
    readFileSync(new URL("./vendor/slack-block-kit.schema.json", import.meta.url), "utf8"),
  ) as Obj;
  addDiscriminators(schema);
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    // The vendored schema narrows lengths with `allOf: [{$ref}, {properties: …}]` without repeating `type`.
    strictTypes: false,
    strictRequired: false,
    discriminator: true,
  });
  ajv.addFormat("uri", isUri);
  ajv.addSchema(schema);
  const id = String(schema.$id);
  const get = (name: string): ValidateFunction => {
    const fn = ajv.getSchema(`${id}#/$defs/${name}`);
    if (!fn) throw new Error(`Block Kit schema has no $defs/${name}`);
    return fn;
  };
  validators = { block: get("block"), modal: get("modal_view"), home: get("home_view") };
  return validators;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `unknown property ${JSON.stringify(params.additionalProperty)}`;
    case "discriminator":
      return `type ${JSON.stringify(params.tagValue)} is not allowed here`;
    case "enum":
      return `${error.message ?? "must be one of"}: ${JSON.stringify(params.allowedValues)}`;
    case "const":
      return `must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return error.message ?? error.keyword;
  }
}

function schemaProblems(validate: ValidateFunction, data: unknown, ptr: string, out: string[]): void {
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  const pointers = errors.map((e) => ptr + e.instancePath);
  const isTypeConst = (e: ErrorObject) => e.keyword === "const" && e.instancePath.endsWith("/type");
  const below = (p: string, i: number, skip: (e: ErrorObject) => boolean) =>
    errors.some(
      (e, j) => j !== i && !skip(e) && (pointers[j] === p || (pointers[j] ?? "").startsWith(`${p}/`)),
    );
  const typeConsts = new Map<string, unknown[]>();
  errors.forEach((error, i) => {
    const p = pointers[i] ?? ptr;
    const combinator = error.keyword === "oneOf" || error.keyword === "anyOf" || error.keyword === "if";
    // "must match exactly one schema in oneOf" adds nothing when a branch said what is wrong.
    if (combinator && below(p, i, () => false)) return;
    if (isTypeConst(error)) {
      // A union branch for another `type`: noise when the matching branch reported something.
      const parent = p.slice(0, -"/type".length);
      if (below(parent, i, isTypeConst)) return;
      typeConsts.set(p, [
        ...(typeConsts.get(p) ?? []),
        (error.params as { allowedValue?: unknown }).allowedValue,
      ]);
      return;
    }
    const line = problem(`schema: ${describe(error)}`, p);
    if (!out.includes(line)) out.push(line);
  });
  for (const [p, allowed] of typeConsts) {
    const line = problem(`schema: must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, p);
    if (!out.includes(line)) out.push(line);
  }
}

// ---------------------------------------------------------------------------

/**
 * Lists everything Slack would reject (or that breaks the bot's own rules,
 * like a missing fallback `text`). Pointers are relative to the API payload:
 * `/blocks/…` and `/text` for messages, `/view/…` for views.
 */
export function blockKitProblems(surface: Surface, opts: ProblemOptions = {}): string[] {
  const check = new Checker();
  const isView = surface.kind !== "message";
  const prefix = isView ? "/view" : "";
  let blocks: unknown = surface.blocks;
  if (isView && isObj(surface.view)) blocks = surface.view.blocks;

  if (!Array.isArray(blocks)) {
    check.add("blocks must be an array", at(prefix, "blocks"));
    return check.problems;
  }
  const maxBlocks = isView ? LIMITS.viewBlocks : LIMITS.messageBlocks;
  if (blocks.length > maxBlocks) {
    check.add(`no more than ${maxBlocks} blocks allowed, got ${blocks.length}`, at(prefix, "blocks"));
  }
  if (isView && blocks.length === 0) check.add("a view needs at least one block", at(prefix, "blocks"));

  if (!isView && (opts.requireText ?? true)) {
    if (typeof surface.text !== "string" || surface.text.trim() === "") {
      check.add("a message needs a non-empty top-level text fallback", "/text");
    }
  }

  const blockIds = new Map<string, string>();
  blocks.forEach((block, i) => {
    check.block(block, at(prefix, "blocks", i), blockIds);
  });
  if (surface.kind === "modal" || surface.kind === "home") {
    check.view(surface.view ?? { type: surface.kind, blocks }, surface.kind, blocks);
  }

  const empties = new Map<string, string>();
  if (isView && isObj(surface.view)) emptyTextObjects(surface.view, prefix, empties);
  else emptyTextObjects(blocks, at(prefix, "blocks"), empties);
  const handPointers = new Set(check.problems.map(problemPointer));
  for (const [p, line] of empties) if (!handPointers.has(p)) check.problems.push(line);

  const { block: validateBlock, modal, home } = getValidators();
  const schemaLines: string[] = [];
  blocks.forEach((block, i) => {
    schemaProblems(validateBlock, block, at(prefix, "blocks", i), schemaLines);
  });
  if (isView && isObj(surface.view)) {
    // Blocks were validated one by one above; check the view's own fields with a stand-in block.
    const shell = { ...surface.view, blocks: [{ type: "divider" }] };
    schemaProblems(surface.kind === "modal" ? modal : home, shell, prefix, schemaLines);
  }
  const known = new Set(check.problems.map(problemPointer));
  for (const line of schemaLines) {
    if (!known.has(problemPointer(line))) check.problems.push(line);
  }
  return check.problems;
}

export class BlockKitError extends Error {
  constructor(
    readonly surface: string,
    readonly problems: string[],
  ) {
    super(`invalid ${surface}:\n  - ${problems.join("\n  - ")}`);
    this.name = "BlockKitError";
  }
}

/** Throws a BlockKitError listing every problem of a message payload (`{text, blocks}`). */
export function expectValidMessage(msg: { text?: unknown; blocks?: unknown }): void {
  const problems = blockKitProblems({
    kind: "message",
    text: typeof msg.text === "string" ? msg.text : undefined,
    blocks: (msg.blocks ?? []) as unknown[],
  });
  if (problems.length > 0) throw new BlockKitError("message", problems);
}

/** Throws a BlockKitError listing every problem of a modal or Home tab view. */
export function expectValidView(view: unknown): void {
  const kind = isObj(view) && view.type === "home" ? "home" : "modal";
  const blocks = isObj(view) && Array.isArray(view.blocks) ? view.blocks : [];
  const problems = blockKitProblems({ kind, blocks, view });
  if (problems.length > 0) throw new BlockKitError(`${kind} view`, problems);
}
